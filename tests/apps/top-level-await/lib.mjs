export const word = "after await";

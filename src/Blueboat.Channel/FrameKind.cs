namespace Blueboat.Channel;

/// <summary>
/// Frame kinds on the supervisor-worker socketpair. Every frame is
/// [u32 payload length][u8 kind][u32 exchange id][payload], little-endian; exchange id 0 is the
/// worker itself (app loading, logs not tied to a request).
/// </summary>
public enum FrameKind : byte
{
    // supervisor -> worker
    LoadApp = 1,
    RequestHead = 2,
    RequestBody = 3,
    RequestEnd = 4,
    Cancel = 5,
    FetchResponse = 6, // the outcome of a worker's fetch, which the supervisor performed
    Warm = 7, // start the V8 engine and the runtime now, before any app is known (pre-started workers)

    // worker -> supervisor
    AppLoaded = 16,
    ResponseHead = 17,
    ResponseBody = 18,
    ResponseEnd = 19,
    Log = 20,
    FetchRequest = 22, // app code called fetch(); workers have no network, so the supervisor performs it
    Retiring = 21, // the worker will take no new requests (e.g. its heap limit was hit) and is about to exit
    Warmed = 23, // the engine and runtime are ready; the worker waits for LoadApp
    CodeCache = 24, // V8 code cache of the app's modules, for the next worker of the same app version
}

public static class FrameLayout
{
    public const int HeaderSize = 9;

    /// <summary>Largest payload one frame may carry; bodies travel as several smaller frames.</summary>
    public const int MaxPayload = 320 * 1024 * 1024; // a LoadApp frame carries a whole package

    /// <summary>Body chunk size: large enough to amortise framing, small enough to interleave exchanges.</summary>
    public const int BodyChunk = 256 * 1024;
}

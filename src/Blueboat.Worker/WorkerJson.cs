using System.Text.Json.Serialization;

namespace Blueboat.Worker;

[JsonSerializable(typeof(Dictionary<string, string>))]
internal sealed partial class WorkerJson : JsonSerializerContext;

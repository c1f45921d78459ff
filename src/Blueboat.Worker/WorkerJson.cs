using System.Text.Json.Serialization;

namespace Blueboat.Worker;

[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(List<List<string>>))]
internal sealed partial class WorkerJson : JsonSerializerContext;

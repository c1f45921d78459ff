using System.Text.Json.Serialization;

namespace Blueboat.Runtime.Glue;

/// <summary>Source-generated JSON for the few shapes the glue writes (AOT has no reflection-based serializer).</summary>
[JsonSerializable(typeof(string))]
internal sealed partial class RuntimeJson : JsonSerializerContext;

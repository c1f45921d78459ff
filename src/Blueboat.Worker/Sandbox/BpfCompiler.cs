namespace Blueboat.Worker.Sandbox;

/// <summary>One classic BPF instruction, laid out as struct sock_filter.</summary>
public readonly record struct BpfInstruction(ushort Code, byte Jt, byte Jf, uint K);

/// <summary>
/// Compiles a <see cref="SyscallPolicy"/> to a seccomp BPF program: check the architecture, then
/// one block per allowed syscall (its number, then its argument checks), and kill on anything else.
/// Written here because no package compiles seccomp policies for .NET; the program is small and
/// its layout is fixed by the kernel ABI (struct seccomp_data).
/// </summary>
public static class BpfCompiler
{
    private const ushort LdWAbs = 0x20, JeqK = 0x15, JgeK = 0x35, AndK = 0x54, RetK = 0x06;
    public const uint RetKillProcess = 0x80000000, RetAllow = 0x7fff0000, RetErrno = 0x00050000;
    private const uint OffsetNr = 0, OffsetArch = 4, OffsetArgs = 16;
    private const uint X32SyscallBit = 0x40000000;

    public static BpfInstruction[] Compile(SyscallPolicy policy)
    {
        var program = new List<BpfInstruction>
        {
            new(LdWAbs, 0, 0, OffsetArch),
            new(JeqK, 1, 0, SyscallTable.AuditArchX64),
            new(RetK, 0, 0, RetKillProcess),
            new(LdWAbs, 0, 0, OffsetNr),
            new(JgeK, 0, 1, X32SyscallBit), // x32 ABI numbers alias x86_64 ones: refuse them
            new(RetK, 0, 0, RetKillProcess),
        };
        foreach (var rule in policy.Rules)
        {
            var body = RuleBody(rule);
            if (body.Count > 255) throw new InvalidOperationException($"rule for {rule.Name} is too long for a BPF jump");
            program.Add(new(JeqK, 0, (byte)body.Count, (uint)SyscallTable.X64[rule.Name]));
            program.AddRange(body);
        }
        program.Add(new(RetK, 0, 0, RetKillProcess));
        return program.ToArray();
    }

    /// <summary>What runs once the syscall number matched: the argument checks, then the action.</summary>
    private static List<BpfInstruction> RuleBody(SyscallRule rule)
    {
        var words = new List<(uint Offset, uint Mask, uint Value)>();
        foreach (var c in rule.Checks)
        {
            var low = OffsetArgs + 8 * (uint)c.Arg;
            words.Add((low, (uint)c.Mask, (uint)c.Value));
            if ((c.Mask >> 32) != 0) words.Add((low + 4, (uint)(c.Mask >> 32), (uint)(c.Value >> 32)));
        }
        var body = new List<BpfInstruction>();
        for (var i = 0; i < words.Count; i++)
        {
            var (offset, mask, value) = words[i];
            // On a failed check, jump to the kill at the end of this body.
            var remainingAfterJeq = (words.Count - i - 1) * 3 + 1; // later checks, then the allow
            body.Add(new(LdWAbs, 0, 0, offset));
            body.Add(new(AndK, 0, 0, mask));
            body.Add(new(JeqK, 0, (byte)remainingAfterJeq, value));
        }
        body.Add(new(RetK, 0, 0, rule.Errno is { } errno ? RetErrno | (uint)errno : RetAllow));
        if (words.Count > 0) body.Add(new(RetK, 0, 0, RetKillProcess));
        return body;
    }
}

import ArgumentParser

/// `fieldsync`: the device side of FieldSync.
@main
struct FieldSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fieldsync",
        abstract:
            "FieldSync device-side tools: a device's reports and sync, peer sync, operators' conflict tools, QA record and replay.",
        subcommands: [
            DemoCommand.self, DeviceCommand.self, ReportCommand.self, LogCommand.self, StatusCommand.self,
            SyncCommand.self,
            PeerCommand.self, ReportsCommand.self, ConflictsCommand.self, RefusalsCommand.self, ReplayCommand.self,
            SimulateCommand.self, VerifyCommand.self, IngestStressCommand.self, ServicesCommand.self,
            ScorecardCommand.self,
        ],
        defaultSubcommand: DemoCommand.self
    )

    /// Runs the command, taking a negative number after an option as its value (`--lat -0.09`,
    /// which the argument parser would otherwise read as an unknown option).
    static func main() async {
        await main(joiningNegativeValues(Array(CommandLine.arguments.dropFirst())))
    }

    /// `--lat -0.09` → `--lat=-0.09`: an option followed by a negative number.
    static func joiningNegativeValues(_ arguments: [String]) -> [String] {
        var out: [String] = []
        var i = 0
        while i < arguments.count {
            let a = arguments[i]
            if a.hasPrefix("--"), !a.contains("="), i + 1 < arguments.count, arguments[i + 1].hasPrefix("-"),
                Double(arguments[i + 1]) != nil
            {
                out.append("\(a)=\(arguments[i + 1])")
                i += 2
            } else {
                out.append(a)
                i += 1
            }
        }
        return out
    }
}

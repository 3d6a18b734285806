import ArgumentParser

/// `fieldsync`: the device side of FieldSync.
@main
struct FieldSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fieldsync",
        abstract: "FieldSync device-side tools: a device's reports and sync, peer sync, operators' conflict tools, QA record and replay.",
        subcommands: [DemoCommand.self, DeviceCommand.self, ReportCommand.self, LogCommand.self, StatusCommand.self, SyncCommand.self,
                      PeerCommand.self, ReportsCommand.self, ConflictsCommand.self, RefusalsCommand.self, ReplayCommand.self, SimulateCommand.self, VerifyCommand.self, IngestStressCommand.self],
        defaultSubcommand: DemoCommand.self
    )
}

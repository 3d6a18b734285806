import ArgumentParser

/// `fieldsync`: the device side of FieldSync.
@main
struct FieldSyncCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fieldsync",
        abstract: "FieldSync device-side tools: demo, device stores, peer sync.",
        subcommands: [DemoCommand.self, IngestStressCommand.self],
        defaultSubcommand: DemoCommand.self
    )
}

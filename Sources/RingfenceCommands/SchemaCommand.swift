import ArgumentParser

/// `ringfence schema [policy|tests|saga|runtime]`: prints the JSON Schema of a file kind, for editors
/// (yaml-language-server) and CI validators.
struct SchemaCommand: RingfenceSubcommand {
    /// The command's name and summary.
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the JSON Schema (draft-07) of a file kind.",
        discussion: "Kinds: policy (the default), tests, saga, runtime. Exit status: 0, or 2 for an unknown kind.")

    /// The file kind whose schema to print.
    @Argument(help: ArgumentHelp("The file kind: policy, tests, saga or runtime.", valueName: "kind"))
    var kind: String = "policy"

    /// Refuses a kind without a schema, suggesting the nearest one.
    func validate() throws {
        if JSONSchemas.schema(for: kind) == nil { throw ValidationError(CLIMessages.unknownSchemaKind(kind)) }
    }

    /// Prints the schema text.
    func execute(_ io: CommandIO) -> Int32 {
        guard let schema = JSONSchemas.schema(for: kind) else { return 2 }
        io.out(schema + "\n")
        return 0
    }
}

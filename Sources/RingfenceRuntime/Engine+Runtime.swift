extension Runtime {
    /// A runtime over `engine`'s machine and its program's runtime settings (SPEC §7), on
    /// `store` (memory by default); the other parameters are those of the designated initialiser.
    public convenience init(engine: Engine, store: StateStore = MemoryStore(), audit: AuditSettings? = nil,
                            clock: @escaping @Sendable () -> Int64 = RuntimeTime.system, ids: IDGenerator = .system,
                            ledger: LedgerView? = nil, sagas: SagaView? = nil) throws(StoreError) {
        try self.init(machine: engine.machine, settings: engine.program.runtime, store: store, audit: audit, clock: clock, ids: ids,
                      ledger: ledger, sagas: sagas)
    }
}

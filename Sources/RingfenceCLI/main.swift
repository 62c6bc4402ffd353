import RingfenceCommands

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// `ringfence`: every command lives in RingfenceCommands; this only runs it.
exit(RingfenceCLI.run(Array(CommandLine.arguments.dropFirst()), io: .standard))

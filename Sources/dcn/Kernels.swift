import ArgumentParser
import DeformConv

struct Kernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the kernels with their precisions.",
        discussion: """
        u_acc is the unit roundoff of a kernel's accumulation, u_s that of its sampling arithmetic (SPEC section 3). \
        passes: forward, and backward for the kernels that compute the gradients (SPEC section 7); a kernel without \
        a backward reports backward cases as not implemented.
        """)

    func run() {
        let rows = KernelRegistry.all().map { kernel in
            let passes = KernelPass.allCases.filter(kernel.passes.contains).map(\.rawValue).joined(separator: "+")
            return [kernel.name, power(kernel.accumulationUnitRoundoff), power(kernel.samplingUnitRoundoff), "\(kernel.threads)", passes, kernel.summary]
        }
        let table = [["kernel", "u_acc", "u_s", "threads", "passes", "computes"]] + rows
        let columns = table[0].count - 1
        let widths = (0..<columns).map { column in table.map { $0[column].count }.max()! }
        for row in table {
            print((0..<columns).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "  " + row[columns])
        }
    }

    private func power(_ u: Double) -> String { "2^\(Int(u.exponent))" }
}

import ArgumentParser
import DeformConv

struct Kernels: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the kernels with their precisions.",
        discussion: "u_acc is the unit roundoff of a kernel's accumulation, u_s that of its sampling arithmetic (SPEC section 3).")

    func run() {
        let rows = KernelRegistry.all().map { kernel in
            [kernel.name, power(kernel.accumulationUnitRoundoff), power(kernel.samplingUnitRoundoff), "\(kernel.threads)", kernel.summary]
        }
        let table = [["kernel", "u_acc", "u_s", "threads", "computes"]] + rows
        let columns = table[0].count - 1
        let widths = (0..<columns).map { column in table.map { $0[column].count }.max()! }
        for row in table {
            print((0..<columns).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ") + "  " + row[columns])
        }
    }

    private func power(_ u: Double) -> String { "2^\(Int(u.exponent))" }
}

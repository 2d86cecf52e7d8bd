import DeformConv
import XCTest

/// SPEC section 2: "Where several rules are broken, the first row of this table
/// that applies wins." Each breaker below breaks exactly one row of the base call
/// (checked on its own first), then pairs of them are combined.
final class PrecedenceTests: XCTestCase {
    typealias Breaker = (inout DeformConvArguments, inout ResourceLimits) -> Void

    /// One breaker per table row, in table order. Each touches a part of the call
    /// no other breaker touches (or a different dimension of it), so any subset
    /// of them can be applied together, in any order, and every chosen row stays broken.
    let breakers: [(code: ErrorCode, breaks: Breaker)] = [
        (.paramType, { a, _ in a.kernelSize = .notInteger("(3.0, 2.0)") }),
        (.dtypeUnsupported, { a, _ in a.x.dtype = .float64 }),
        (.dtypeMismatch, { a, _ in a.weight.dtype = .float16 }),
        (.paramLength, { a, _ in a.dilations = .integers([1, 1, 2]) }),
        (.paramNC, { a, _ in a.strides = .integers([1, 2, 2, 1]) }),
        (.modulatedFalse, { a, _ in a.modulated = .value(false) }),
        (.paramRange, { a, _ in a.padding = .integers([1, 0, -1, 1]) }),
        (.rank, { a, _ in a.bias?.shape.append(1) }),
        (.groups, { a, _ in a.groups = .integers([3]) }),
        (.deformableGroups, { a, _ in a.deformableGroups = .integers([3]) }),
        (.weightShape, { a, _ in a.weight.shape[3] = 3 }),
        (.emptyOutput, { a, _ in a.x.shape[2] = 1 }),
        (.offsetsShape, { a, _ in a.offsets.shape[0] = 1 }),
        (.biasShape, { a, _ in a.bias?.shape[0] = 5 }),
        (.tooLarge, { _, limits in limits = ResourceLimits(maxWorkingBytes: 64) }),
    ]

    func call(_ codes: [ErrorCode]) -> (DeformConvArguments, ResourceLimits) {
        var a = baseArguments()
        var limits = ResourceLimits.standard
        for code in codes {
            breakers.first { $0.code == code }!.breaks(&a, &limits)
        }
        return (a, limits)
    }

    func check(_ codes: [ErrorCode], expect expected: ErrorCode, file: StaticString = #filePath, line: UInt = #line) {
        let (a, limits) = call(codes)
        assertRejects(a, limits: limits, expected, "breaking \(codes.map(\.rawValue))", file: file, line: line)
    }

    func testBreakersInTableOrder() {
        // grad_shape, the last row, is a rule of the backward call's gy: a forward call cannot
        // break it, and it can only be checked on a problem that passed every row above it.
        XCTAssertEqual(breakers.map(\.code.rawValue), specErrorTable.map(\.code).filter { $0 != "grad_shape" })
    }

    func testEachBreakerAloneRaisesItsOwnRow() {
        for (code, _) in breakers {
            check([code], expect: code)
        }
    }

    func testAdjacentRowsTheEarlierWins() {
        for index in 0..<(breakers.count - 1) {
            let first = breakers[index].code, second = breakers[index + 1].code
            check([first, second], expect: first)
            check([second, first], expect: first)
        }
    }

    func testFarApartRowsTheEarlierWins() {
        let pairs: [(ErrorCode, ErrorCode)] = [
            (.paramType, .tooLarge), (.paramType, .rank), (.dtypeUnsupported, .offsetsShape),
            (.dtypeMismatch, .emptyOutput), (.paramLength, .biasShape), (.paramNC, .groups),
            (.modulatedFalse, .offsetsShape), (.paramRange, .weightShape), (.rank, .tooLarge),
            (.groups, .biasShape), (.deformableGroups, .emptyOutput), (.weightShape, .tooLarge),
            (.emptyOutput, .tooLarge),
        ]
        for (first, second) in pairs {
            check([second, first], expect: first)
        }
    }

    func testEveryRowBrokenAtOnceGivesParamType() {
        check(breakers.map(\.code).reversed(), expect: .paramType)
    }

    func testAllButTheFirstKRows() {
        // Breaking rows k..<15 together raises row k, for every k.
        for k in 0..<breakers.count {
            let codes = breakers[k...].map(\.code)
            check(codes, expect: codes[0])
        }
    }

    func testRankOfXBeatsEveryShapeRule() {
        // a 3-D x cannot be checked for groups etc.; rank must be reported, not a crash
        let a = modified {
            $0.x.shape = [4, 7, 6]
            $0.weight.shape = [5, 3, 1, 1]
            $0.offsets.shape = [9]
            $0.bias?.shape = [1]
        }
        assertRejects(a, .rank, mentions: ["x"])
    }

    func testCOrCoNotDivisibleBeatsWeightDimOne() {
        // Both "C % groups" and "weight dim 1 ≠ C/groups" are the same row; any of them gives groups.
        let a = modified { $0.groups = .integers([3]); $0.weight.shape = [6, 7, 3, 2] }
        assertRejects(a, .groups)
    }

    func testDtypeOfXIsCheckedBeforeTheOthersDtypes() {
        // weight float32 matches nothing once x is int8: dtype_unsupported, not dtype_mismatch
        let a = modified { $0.x.dtype = .integer(bits: 8, signed: true) }
        assertRejects(a, .dtypeUnsupported, mentions: ["int8"])
    }
}

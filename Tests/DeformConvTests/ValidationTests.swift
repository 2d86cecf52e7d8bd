import DeformConv
import XCTest

/// A valid call used as the starting point of every error test:
/// x (2, 4, 7, 6), weight (6, 2, 3, 2), offsets (2, 36, 3, 7), bias (6),
/// kernel (3, 2), strides (1, 1, 2, 1), padding (1, 0, 2, 1), dilations (1, 1, 1, 2),
/// groups 2, deformable_groups 2.
/// Ho = floor((7 + 1 + 0 − (1·2 + 1)) / 2) + 1 = floor(5 / 2) + 1 = 3,
/// Wo = floor((6 + 2 + 1 − (2·1 + 1)) / 1) + 1 = 7, offsets channels 3·2·3·2 = 36.
func baseArguments() -> DeformConvArguments {
    DeformConvArguments(
        x: TensorSpec(shape: [2, 4, 7, 6], dtype: .float32),
        weight: TensorSpec(shape: [6, 2, 3, 2], dtype: .float32),
        offsets: TensorSpec(shape: [2, 36, 3, 7], dtype: .float32),
        bias: TensorSpec(shape: [6], dtype: .float32),
        kernelSize: .integers([3, 2]),
        strides: .integers([1, 1, 2, 1]),
        padding: .integers([1, 0, 2, 1]),
        dilations: .integers([1, 1, 1, 2]),
        groups: .integers([2]),
        deformableGroups: .integers([2]),
        modulated: .value(true))
}

func modified(_ change: (inout DeformConvArguments) -> Void) -> DeformConvArguments {
    var a = baseArguments()
    change(&a)
    return a
}

final class ErrorCodeTableTests: XCTestCase {
    func testCodesAndClassesMatchTheSpecTableInOrder() {
        XCTAssertEqual(ErrorCode.allCases.map(\.rawValue), specErrorTable.map(\.code))
        for code in ErrorCode.allCases {
            XCTAssertEqual(code.exceptionClass.rawValue, specClass(of: code), "\(code)")
        }
        XCTAssertEqual(ErrorCode.allCases.map(\.precedence), Array(0..<16))
        XCTAssertLessThan(ErrorCode.paramType, ErrorCode.tooLarge)
        XCTAssertLessThan(ErrorCode.emptyOutput, ErrorCode.offsetsShape)
    }

    func testDescriptionShowsClassCodeAndMessage() {
        let error = DeformConvError(.biasShape, "bias must have Co = 6 elements, got 5")
        XCTAssertTrue(error.description.contains("ValueError"))
        XCTAssertTrue(error.description.contains("bias_shape"))
        XCTAssertTrue(error.description.contains("bias must have Co = 6 elements, got 5"))
        XCTAssertEqual(DeformConvError(.paramType, "m").exceptionClass, .typeError)
    }
}

final class ValidationErrorTests: XCTestCase {
    func testBaseCallIsValid() throws {
        let p = try DeformConvProblem(validating: baseArguments())
        XCTAssertEqual(p.outputHeight, 3)
        XCTAssertEqual(p.outputWidth, 7)
        XCTAssertEqual(p.outputShape, [2, 6, 3, 7])
        XCTAssertEqual(p.dtype, .float32)
        XCTAssertTrue(p.hasBias)
    }

    // param_type

    func testParamTypeForEachIntegerParameter() {
        assertRejects(modified { $0.kernelSize = .notInteger("(3.0, 2.0)") }, .paramType, mentions: ["kernel_size", "integers", "(3.0, 2.0)"])
        assertRejects(modified { $0.strides = .notInteger("(1, 1, 2.5, 1)") }, .paramType, mentions: ["strides", "integers", "2.5"])
        assertRejects(modified { $0.padding = .notInteger("'same'") }, .paramType, mentions: ["padding", "integers", "'same'"])
        assertRejects(modified { $0.dilations = .notInteger("(1, 1, 1.5, 2)") }, .paramType, mentions: ["dilations", "integers", "1.5"])
        assertRejects(modified { $0.groups = .notInteger("2.0") }, .paramType, mentions: ["groups", "integer", "2.0"])
        assertRejects(modified { $0.deformableGroups = .notInteger("'two'") }, .paramType, mentions: ["deformable_groups", "integer", "'two'"])
    }

    func testParamTypeForModulatedNotBoolean() {
        assertRejects(modified { $0.modulated = .notBoolean("1") }, .paramType, mentions: ["modulated", "boolean", "1"])
        assertRejects(modified { $0.modulated = .notBoolean("'true'") }, .paramType, mentions: ["modulated", "boolean", "'true'"])
    }

    // dtype_unsupported / dtype_mismatch

    func testDtypeUnsupported() {
        for dtype: DataType in [.float64, .integer(bits: 32, signed: true), .integer(bits: 8, signed: false), .other("bfloat16")] {
            let a = modified {
                $0.x.dtype = dtype
                $0.weight.dtype = dtype
                $0.offsets.dtype = dtype
                $0.bias?.dtype = dtype
            }
            assertRejects(a, .dtypeUnsupported, mentions: ["x", "float16", "float32", dtype.description], "x \(dtype)")
        }
    }

    func testFloat16CallIsValid() throws {
        let a = modified {
            $0.x.dtype = .float16
            $0.weight.dtype = .float16
            $0.offsets.dtype = .float16
            $0.bias?.dtype = .float16
        }
        XCTAssertEqual(try DeformConvProblem(validating: a).dtype, .float16)
    }

    func testDtypeMismatchForEachTensor() {
        assertRejects(modified { $0.weight.dtype = .float16 }, .dtypeMismatch, mentions: ["weight", "float32", "float16"])
        assertRejects(modified { $0.offsets.dtype = .integer(bits: 32, signed: true) }, .dtypeMismatch, mentions: ["offsets", "float32", "int32"])
        assertRejects(modified { $0.bias?.dtype = .float64 }, .dtypeMismatch, mentions: ["bias", "float32", "float64"])
        // float16 x with a float32 weight
        let a = modified {
            $0.x.dtype = .float16
            $0.offsets.dtype = .float16
            $0.bias?.dtype = .float16
        }
        assertRejects(a, .dtypeMismatch, mentions: ["weight", "float16", "float32"])
    }

    // param_length

    func testParamLength() {
        assertRejects(modified { $0.kernelSize = .integers([3]) }, .paramLength, mentions: ["kernel_size", "2", "1"])
        assertRejects(modified { $0.kernelSize = .integers([3, 2, 1]) }, .paramLength, mentions: ["kernel_size", "2", "3"])
        assertRejects(modified { $0.strides = .integers([2, 1]) }, .paramLength, mentions: ["strides", "4", "2"])
        assertRejects(modified { $0.padding = .integers([1, 0, 2, 1, 0]) }, .paramLength, mentions: ["padding", "4", "5"])
        assertRejects(modified { $0.dilations = .integers([]) }, .paramLength, mentions: ["dilations", "4", "0"])
    }

    // param_nc

    func testParamNC() {
        assertRejects(modified { $0.strides = .integers([2, 1, 2, 1]) }, .paramNC, mentions: ["strides", "1", "2"])
        assertRejects(modified { $0.strides = .integers([1, 3, 2, 1]) }, .paramNC, mentions: ["strides", "1", "3"])
        assertRejects(modified { $0.dilations = .integers([0, 1, 1, 2]) }, .paramNC, mentions: ["dilations", "1", "0"])
        assertRejects(modified { $0.dilations = .integers([1, 5, 1, 2]) }, .paramNC, mentions: ["dilations", "1", "5"])
    }

    // modulated_false

    func testModulatedFalse() {
        assertRejects(modified { $0.modulated = .value(false) }, .modulatedFalse, mentions: ["modulated", "true", "false"])
    }

    // param_range

    func testParamRangeForEachParameter() {
        assertRejects(modified { $0.kernelSize = .integers([-2, 2]) }, .paramRange, mentions: ["kernel_size", "1", "-2"])
        assertRejects(modified { $0.kernelSize = .integers([3, 0]) }, .paramRange, mentions: ["kernel_size", "1", "0"])
        assertRejects(modified { $0.strides = .integers([1, 1, 0, 1]) }, .paramRange, mentions: ["strides", "1", "0"])
        assertRejects(modified { $0.strides = .integers([1, 1, 2, -3]) }, .paramRange, mentions: ["strides", "1", "-3"])
        assertRejects(modified { $0.dilations = .integers([1, 1, 0, 2]) }, .paramRange, mentions: ["dilations", "1", "0"])
        assertRejects(modified { $0.dilations = .integers([1, 1, 1, -7]) }, .paramRange, mentions: ["dilations", "1", "-7"])
        assertRejects(modified { $0.groups = .integers([0]) }, .paramRange, mentions: ["groups", "1", "0"])
        assertRejects(modified { $0.deformableGroups = .integers([-4]) }, .paramRange, mentions: ["deformable_groups", "1", "-4"])
        assertRejects(modified { $0.padding = .integers([-5, 0, 2, 1]) }, .paramRange, mentions: ["padding", "0", "-5"])
        assertRejects(modified { $0.padding = .integers([1, 0, 2, -9]) }, .paramRange, mentions: ["padding", "0", "-9"])
    }

    // rank

    func testRankForEachTensor() {
        assertRejects(modified { $0.x.shape = [4, 7, 6] }, .rank, mentions: ["x", "4", "3"])
        assertRejects(modified { $0.weight.shape = [6, 2, 3, 2, 1] }, .rank, mentions: ["weight", "4", "5"])
        assertRejects(modified { $0.offsets.shape = [2, 36, 21] }, .rank, mentions: ["offsets", "4", "3"])
        assertRejects(modified { $0.bias?.shape = [6, 1] }, .rank, mentions: ["bias", "1", "2"])
        assertRejects(modified { $0.bias?.shape = [] }, .rank, mentions: ["bias", "1", "0"])
    }

    // groups

    func testGroups() {
        // C = 4 not divisible by 3 (weight dim 1 given as 1 = floor(4/3) so only divisibility is wrong)
        assertRejects(modified { $0.groups = .integers([3]); $0.deformableGroups = .integers([1]); $0.weight.shape = [6, 1, 3, 2]; $0.offsets.shape = [2, 18, 3, 7] },
                      .groups, mentions: ["groups", "3", "4"])
        // Co = 5 not divisible by 2
        assertRejects(modified { $0.weight.shape = [5, 2, 3, 2]; $0.bias?.shape = [5] }, .groups, mentions: ["groups", "2", "5"])
        // weight dim 1 = 3 ≠ C/groups = 2
        assertRejects(modified { $0.weight.shape = [6, 3, 3, 2] }, .groups, mentions: ["weight", "2", "3"])
        assertRejects(modified { $0.weight.shape = [6, 4, 3, 2] }, .groups, mentions: ["weight", "2", "4"])
    }

    // deformable_groups

    func testDeformableGroups() {
        assertRejects(modified { $0.deformableGroups = .integers([3]); $0.offsets.shape = [2, 54, 3, 7] },
                      .deformableGroups, mentions: ["deformable_groups", "3", "4"])
        assertRejects(modified { $0.deformableGroups = .integers([8]); $0.offsets.shape = [2, 144, 3, 7] },
                      .deformableGroups, mentions: ["deformable_groups", "8", "4"])
    }

    func testDeformableGroupsNeedNotDivideConvolutionGroups() throws {
        // C = 4, groups 2, dg 4: C % dg == 0 is the only rule.
        let a = modified { $0.deformableGroups = .integers([4]); $0.offsets.shape = [2, 72, 3, 7] }
        XCTAssertEqual(try DeformConvProblem(validating: a).deformableGroups, 4)
    }

    // weight_shape

    func testWeightShape() {
        assertRejects(modified { $0.weight.shape = [6, 2, 3, 3] }, .weightShape, mentions: ["weight", "kernel_size", "2", "3"])
        assertRejects(modified { $0.weight.shape = [6, 2, 1, 2] }, .weightShape, mentions: ["weight", "kernel_size", "3", "1"])
        // kernel_size (2, 3) with the (3, 2) weight: transposed
        assertRejects(modified { $0.kernelSize = .integers([2, 3]) }, .weightShape, mentions: ["weight", "kernel_size"])
    }

    // empty_output

    func testEmptyOutputHeight() {
        // H = 1: floor((1 + 1 − 3) / 2) + 1 = floor(−1/2) + 1 = 0
        let e = assertRejects(modified { $0.x.shape = [2, 4, 1, 6]; $0.offsets.shape = [2, 36, 0, 7] }, .emptyOutput, mentions: ["0", "1"])
        XCTAssertTrue(e?.message.lowercased().contains("output") ?? false, e?.message ?? "")
    }

    func testEmptyOutputUsesFloorNotTruncation() {
        // H = 2, kernel 3, stride 2, no padding: floor(−1/2) + 1 = 0 (truncation would give 1).
        let a = modified {
            $0.x.shape = [2, 4, 2, 6]
            $0.padding = .integers([0, 0, 2, 1])
            $0.offsets.shape = [2, 36, 1, 7]
        }
        assertRejects(a, .emptyOutput, mentions: ["0"])
        // Same for the width: W = 1, kw 2, dw 3 → extent 4, pads 0, stride 2: floor(−3/2) + 1 = −1.
        let b = modified {
            $0.x.shape = [2, 4, 7, 1]
            $0.padding = .integers([1, 0, 0, 0])
            $0.strides = .integers([1, 1, 2, 2])
            $0.dilations = .integers([1, 1, 1, 3])
            $0.offsets.shape = [2, 36, 3, 1]
        }
        assertRejects(b, .emptyOutput, mentions: ["-1"])
    }

    func testEmptyOutputWidth() {
        // W = 2, pl + pr = 0, dw 2: extent 3 > 2 → Wo = 0
        assertRejects(modified { $0.x.shape = [2, 4, 7, 2]; $0.padding = .integers([1, 0, 0, 0]) }, .emptyOutput, mentions: ["0"])
    }

    // offsets_shape

    func testOffsetsShapeEachDimension() {
        assertRejects(modified { $0.offsets.shape = [1, 36, 3, 7] }, .offsetsShape, mentions: ["offsets", "2", "1"], "batch")
        assertRejects(modified { $0.offsets.shape = [2, 35, 3, 7] }, .offsetsShape, mentions: ["offsets", "36", "35"], "channels")
        assertRejects(modified { $0.offsets.shape = [2, 24, 3, 7] }, .offsetsShape, mentions: ["offsets", "36", "24"], "channels 2·dg·kh·kw (DCNv1 layout)")
        assertRejects(modified { $0.offsets.shape = [2, 36, 4, 7] }, .offsetsShape, mentions: ["offsets", "3", "4"], "Ho")
        assertRejects(modified { $0.offsets.shape = [2, 36, 3, 6] }, .offsetsShape, mentions: ["offsets", "7", "6"], "Wo")
        assertRejects(modified { $0.offsets.shape = [2, 36, 7, 3] }, .offsetsShape, mentions: ["offsets"], "Ho and Wo swapped")
    }

    // bias_shape

    func testBiasShape() {
        assertRejects(modified { $0.bias?.shape = [5] }, .biasShape, mentions: ["bias", "6", "5"])
        assertRejects(modified { $0.bias?.shape = [12] }, .biasShape, mentions: ["bias", "6", "12"])
        assertRejects(modified { $0.bias?.shape = [0] }, .biasShape, mentions: ["bias", "6", "0"])
    }

    func testNoBiasIsValid() throws {
        XCTAssertFalse(try DeformConvProblem(validating: modified { $0.bias = nil }).hasBias)
    }
}

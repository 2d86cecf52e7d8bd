import DeformConv
import Foundation
import XCTest

// Helpers shared by the DeformConv tests. Everything here is written from SPEC
// sections 1–3 and does not call the code under test, so the expectations built
// with it are independent of the package's own arithmetic.

// MARK: - Deterministic random numbers

/// SplitMix64: small, deterministic, good enough for test data.
struct TestRNG: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &self) }
    mutating func double(_ range: ClosedRange<Double>) -> Double { Double.random(in: range, using: &self) }
    mutating func bool() -> Bool { Bool.random(using: &self) }
    /// A real number in `range` that is exactly a Float.
    mutating func float32Value(_ range: ClosedRange<Double>) -> Double { Double(Float(double(range))) }
    /// A real number in `range` that is exactly a Float16.
    mutating func float16Value(_ range: ClosedRange<Double>) -> Double { Double(Float16(double(range))) }
    /// A multiple of `1/denominator` with |value| ≤ `limit`.
    mutating func dyadic(limit: Double, denominator: Int) -> Double {
        let steps = Int(limit * Double(denominator))
        return Double(int(-steps...steps)) / Double(denominator)
    }
}

// MARK: - Geometry with the SPEC formulas

/// floor(a / b) for b > 0, written out with the mathematical definition.
func floorDivide(_ a: Int, _ b: Int) -> Int {
    precondition(b > 0)
    var q = a / b
    if q * b > a { q -= 1 }
    return q
}

/// A convolution geometry written in the test's own terms. `ho`/`wo` are SPEC
/// section 1's formulas; the shapes are those of SPEC section 1's argument table.
struct TestShape: CustomStringConvertible {
    var n = 1, c = 1, h = 1, w = 1, co = 1
    var kh = 1, kw = 1
    var sh = 1, sw = 1
    var pt = 0, pb = 0, pl = 0, pr = 0
    var dh = 1, dw = 1
    var groups = 1, dg = 1
    var bias = false

    /// Ho = floor((H + pt + pb − (dh·(kh−1) + 1)) / sh) + 1
    var ho: Int { floorDivide(h + pt + pb - (dh * (kh - 1) + 1), sh) + 1 }
    /// Wo = floor((W + pl + pr − (dw·(kw−1) + 1)) / sw) + 1
    var wo: Int { floorDivide(w + pl + pr - (dw * (kw - 1) + 1), sw) + 1 }
    /// K = dg·kh·kw
    var taps: Int { dg * kh * kw }
    var cpg: Int { c / groups }
    var copg: Int { co / groups }
    var cpdg: Int { c / dg }

    var xShape: [Int] { [n, c, h, w] }
    var weightShape: [Int] { [co, c / groups, kh, kw] }
    var offsetsShape: [Int] { [n, 3 * taps, ho, wo] }
    var outputCount: Int { n * co * ho * wo }
    var xCount: Int { n * c * h * w }
    var weightCount: Int { co * (c / groups) * kh * kw }
    var offsetsCount: Int { n * 3 * taps * ho * wo }

    func xIndex(_ n: Int, _ c: Int, _ a: Int, _ b: Int) -> Int { ((n * self.c + c) * h + a) * w + b }
    func weightIndex(_ o: Int, _ cg: Int, _ i: Int, _ j: Int) -> Int { ((o * cpg + cg) * kh + i) * kw + j }
    func offsetsIndex(_ n: Int, _ channel: Int, _ oh: Int, _ ow: Int) -> Int { ((n * 3 * taps + channel) * ho + oh) * wo + ow }
    func outputIndex(_ n: Int, _ o: Int, _ oh: Int, _ ow: Int) -> Int { ((n * co + o) * ho + oh) * wo + ow }

    /// The call MindSpore would receive, shapes built by hand from SPEC section 1.
    func arguments(dtype: DataType = .float32) -> DeformConvArguments {
        DeformConvArguments(
            x: TensorSpec(shape: xShape, dtype: dtype),
            weight: TensorSpec(shape: weightShape, dtype: dtype),
            offsets: TensorSpec(shape: offsetsShape, dtype: dtype),
            bias: bias ? TensorSpec(shape: [co], dtype: dtype) : nil,
            kernelSize: .integers([kh, kw]),
            strides: .integers([1, 1, sh, sw]),
            padding: .integers([pt, pb, pl, pr]),
            dilations: .integers([1, 1, dh, dw]),
            groups: .integers([groups]),
            deformableGroups: .integers([dg]),
            modulated: .value(true))
    }

    func problem(dtype: DataType = .float32, file: StaticString = #filePath, line: UInt = #line) throws -> DeformConvProblem {
        do {
            return try DeformConvProblem(validating: arguments(dtype: dtype))
        } catch {
            XCTFail("valid shape \(self) rejected: \(error)", file: file, line: line)
            throw error
        }
    }

    var description: String {
        "N\(n) C\(c) H\(h) W\(w) Co\(co) k\(kh)x\(kw) s\(sh),\(sw) p\(pt),\(pb),\(pl),\(pr) d\(dh),\(dw) g\(groups) dg\(dg)\(bias ? " bias" : "")"
    }

    /// `count` random geometries drawn from `seed`: what each test adds to its fixed ones.
    static func random(seed: UInt64, count: Int) -> [TestShape] {
        var rng = TestRNG(seed: seed)
        return (0..<count).map { _ in random(&rng) }
    }

    /// A random valid geometry, small enough for debug builds.
    static func random(_ rng: inout TestRNG) -> TestShape {
        var s = TestShape()
        s.groups = rng.int(1...3)
        s.dg = rng.int(1...2)
        s.c = s.groups * s.dg * rng.int(1...2)
        s.co = s.groups * rng.int(1...2)
        s.n = rng.int(1...2)
        s.kh = rng.int(1...3)
        s.kw = rng.int(1...3)
        s.sh = rng.int(1...2)
        s.sw = rng.int(1...3)
        s.dh = rng.int(1...2)
        s.dw = rng.int(1...2)
        s.pt = rng.int(0...2)
        s.pb = rng.int(0...2)
        s.pl = rng.int(0...2)
        s.pr = rng.int(0...1)
        s.h = max(1, s.dh * (s.kh - 1) + 1 - s.pt - s.pb) + rng.int(0...4)
        s.w = max(1, s.dw * (s.kw - 1) + 1 - s.pl - s.pr) + rng.int(0...4)
        s.bias = rng.bool()
        return s
    }
}

// MARK: - Test data

/// Inputs in Float64 (values chosen exactly representable in the dtype under test).
struct TestData {
    var shape: TestShape
    var x: [Double]
    var weight: [Double]
    var offsets: [Double]
    var bias: [Double]?

    var double: DeformConvInputs<Double> { DeformConvInputs(x: x, weight: weight, offsets: offsets, bias: bias) }
    var float: DeformConvInputs<Float> { double.map { Float($0) } }
    var half: DeformConvInputs<Float16> { double.map { Float16($0) } }

    init(shape: TestShape, x: [Double], weight: [Double], offsets: [Double], bias: [Double]?) {
        precondition(x.count == shape.xCount && weight.count == shape.weightCount && offsets.count == shape.offsetsCount)
        precondition((bias?.count ?? -1) == (shape.bias ? shape.co : -1))
        self.shape = shape
        self.x = x
        self.weight = weight
        self.offsets = offsets
        self.bias = bias
    }

    /// x, weight and bias drawn by `value`, offsets built by `tap`.
    init(shape s: TestShape, value: () -> Double, biasValue: (() -> Double)? = nil,
         tap: (_ n: Int, _ g: Int, _ i: Int, _ j: Int, _ oh: Int, _ ow: Int) -> (dy: Double, dx: Double, m: Double)) {
        let x = (0..<s.xCount).map { _ in value() }
        let weight = (0..<s.weightCount).map { _ in value() }
        var bias: [Double]? = nil
        if s.bias {
            if let biasValue {
                bias = (0..<s.co).map { _ in biasValue() }
            } else {
                bias = (0..<s.co).map { _ in value() }
            }
        }
        self.init(shape: s, x: x, weight: weight, offsets: makeOffsets(s, tap), bias: bias)
    }
}

/// The offsets tensor of SPEC section 1: channel k = (g·kh + i)·kw + j holds dx,
/// K + k holds dy, 2K + k holds the mask.
func makeOffsets(_ s: TestShape, _ tap: (_ n: Int, _ g: Int, _ i: Int, _ j: Int, _ oh: Int, _ ow: Int) -> (dy: Double, dx: Double, m: Double)) -> [Double] {
    var offsets = [Double](repeating: .nan, count: s.offsetsCount)
    let big = s.taps
    for n in 0..<s.n {
        for g in 0..<s.dg {
            for i in 0..<s.kh {
                for j in 0..<s.kw {
                    let k = (g * s.kh + i) * s.kw + j
                    for oh in 0..<s.ho {
                        for ow in 0..<s.wo {
                            let (dy, dx, m) = tap(n, g, i, j, oh, ow)
                            offsets[s.offsetsIndex(n, k, oh, ow)] = dx
                            offsets[s.offsetsIndex(n, big + k, oh, ow)] = dy
                            offsets[s.offsetsIndex(n, 2 * big + k, oh, ow)] = m
                        }
                    }
                }
            }
        }
    }
    XCTAssertFalse(offsets.contains { $0.isNaN }, "offsets not fully written")
    return offsets
}

/// An ordinary grouped 2-D convolution written with direct loops: zero padding,
/// stride, dilation, groups and bias. Channel c reads its input shifted by
/// `shift(c)` (zeros shifted in) and scaled by `scale(c)`.
func plainConvolution(_ s: TestShape, x: [Double], weight: [Double], bias: [Double]?,
                      shift: (_ c: Int) -> (dy: Int, dx: Int) = { _ in (0, 0) },
                      scale: (_ c: Int) -> Double = { _ in 1 }) -> [Double] {
    var y = [Double](repeating: 0, count: s.outputCount)
    for n in 0..<s.n {
        for o in 0..<s.co {
            let group = o / (s.co / s.groups)
            for oh in 0..<s.ho {
                for ow in 0..<s.wo {
                    var sum = bias?[o] ?? 0
                    for cg in 0..<(s.c / s.groups) {
                        let c = group * (s.c / s.groups) + cg
                        let (dy, dx) = shift(c)
                        for i in 0..<s.kh {
                            for j in 0..<s.kw {
                                let row = oh * s.sh - s.pt + i * s.dh + dy
                                let col = ow * s.sw - s.pl + j * s.dw + dx
                                guard row >= 0, row < s.h, col >= 0, col < s.w else { continue }
                                sum += weight[s.weightIndex(o, cg, i, j)] * scale(c) * x[s.xIndex(n, c, row, col)]
                            }
                        }
                    }
                    y[s.outputIndex(n, o, oh, ow)] = sum
                }
            }
        }
    }
    return y
}

// MARK: - The SPEC section 3 bound

/// γ_n = n·u / (1 − n·u)
func gamma(_ n: Double, _ u: Double) -> Double { n * u / (1 - n * u) }

/// |y_kernel − y| ≤ γ_{R+8}(u_acc)·y_abs + 8·u_s·y_abs + 2·u_s·y_pos + ½·ulp_out(y),
/// R = (C/groups)·kh·kw + 1, ulp_out the Float32 ulp at |y|.
func float32Bound(y: Double, yAbs: Double, yPos: Double, shape s: TestShape) -> Double {
    let u = 0x1p-24
    let r = Double((s.c / s.groups) * s.kh * s.kw + 1)
    let ulpOut = Double(Float(abs(y)).ulp)
    return gamma(r + 8, u) * yAbs + 8 * u * yAbs + 2 * u * yPos + 0.5 * ulpOut
}

// MARK: - Error assertions

/// SPEC section 2's table: code → exception class, in table order.
let specErrorTable: [(code: String, exceptionClass: String)] = [
    ("param_type", "TypeError"), ("dtype_unsupported", "TypeError"), ("dtype_mismatch", "TypeError"),
    ("param_length", "ValueError"), ("param_nc", "ValueError"), ("modulated_false", "ValueError"),
    ("param_range", "ValueError"), ("rank", "ValueError"), ("groups", "ValueError"),
    ("deformable_groups", "ValueError"), ("weight_shape", "ValueError"), ("empty_output", "ValueError"),
    ("offsets_shape", "ValueError"), ("bias_shape", "ValueError"), ("too_large", "ValueError"), ("grad_shape", "ValueError"),
]

func specClass(of code: ErrorCode) -> String? {
    specErrorTable.first { $0.code == code.rawValue }?.exceptionClass
}

/// Whether `token` occurs in `text` as a whole word (not inside a longer
/// identifier or number): "x" is not found in "max", "2" is not found in "32".
func containsToken(_ text: String, _ token: String) -> Bool {
    let chars = Array(text), tok = Array(token)
    guard !tok.isEmpty, chars.count >= tok.count else { return false }
    func isWord(_ ch: Character) -> Bool { ch.isLetter || ch.isNumber || ch == "_" }
    for start in 0...(chars.count - tok.count) where Array(chars[start..<(start + tok.count)]) == tok {
        let before = start > 0 ? chars[start - 1] : " "
        let after = start + tok.count < chars.count ? chars[start + tok.count] : " "
        let leftOK = !(isWord(before) && isWord(tok.first!))
        let rightOK = !(isWord(after) && isWord(tok.last!))
        if leftOK && rightOK { return true }
    }
    return false
}

/// Asserts that validation rejects `arguments` with `code`, the SPEC's exception
/// class, and a message naming each of `tokens` (argument, expected, actual).
@discardableResult
func assertRejects(_ arguments: DeformConvArguments, limits: ResourceLimits = .standard,
                   _ code: ErrorCode, mentions tokens: [String] = [],
                   _ context: @autoclosure () -> String = "",
                   file: StaticString = #filePath, line: UInt = #line) -> DeformConvError? {
    do throws(DeformConvError) {
        let problem = try DeformConvProblem(validating: arguments, limits: limits)
        XCTFail("expected \(code.rawValue), but the call was accepted (Ho×Wo = \(problem.outputHeight)×\(problem.outputWidth)) \(context())", file: file, line: line)
        return nil
    } catch {
        XCTAssertEqual(error.code, code, "wrong code for \(context()): \(error)", file: file, line: line)
        XCTAssertEqual(error.exceptionClass.rawValue, specClass(of: code), "wrong class: \(error)", file: file, line: line)
        for token in tokens {
            XCTAssertTrue(containsToken(error.message, token), "message does not mention '\(token)': \(error.message)", file: file, line: line)
        }
        return error
    }
}

// MARK: - Running a test body in a child process

extension XCTestCase {
    /// Runs `body` in a fresh copy of the test process, so that a trap (integer
    /// overflow, precondition) is reported as a failure of this test instead of
    /// killing the whole run. In the child, `body` runs directly.
    func runInChildProcess(_ function: String = #function, file: StaticString = #filePath, line: UInt = #line,
                           _ body: () throws -> Void) rethrows {
        let marker = "DCN_DEFORMCONV_TEST_CHILD"
        if ProcessInfo.processInfo.environment[marker] == "1" {
            try body()
            return
        }
        let method = function.hasSuffix("()") ? String(function.dropLast(2)) : function
        let testName = "DeformConvTests.\(String(describing: type(of: self)))/\(method)"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CommandLine.arguments[0])
        process.arguments = [testName]
        var environment = ProcessInfo.processInfo.environment
        environment[marker] = "1"
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do {
            try process.run()
        } catch {
            XCTFail("could not start a child test process: \(error)", file: file, line: line)
            return
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let output = String(decoding: data, as: UTF8.self)
        let tail = output.split(separator: "\n").suffix(12).joined(separator: "\n")
        if process.terminationReason == .uncaughtSignal {
            XCTFail("\(testName) trapped (signal \(process.terminationStatus)) instead of throwing:\n\(tail)", file: file, line: line)
        } else if process.terminationStatus != 0 {
            XCTFail("\(testName) failed in the child process (status \(process.terminationStatus)):\n\(tail)", file: file, line: line)
        } else if !output.contains("Executed 1 test") {
            XCTFail("\(testName) did not run in the child process:\n\(tail)", file: file, line: line)
        }
    }
}

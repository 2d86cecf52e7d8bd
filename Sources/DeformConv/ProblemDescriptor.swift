/// A benchdnn-style problem descriptor (SPEC section 5), e.g.
/// `r50-c3:mb1ic128ih64oc128kh3ph1pw1`: an optional name, then key/value pairs.
public struct ProblemDescriptor: Hashable, Sendable, CustomStringConvertible {
    public var name: String?
    public var geometry: ConvGeometry

    public init(name: String? = nil, geometry: ConvGeometry) {
        self.name = name
        self.geometry = geometry
    }

    /// Why a descriptor string could not be parsed.
    public struct ParseError: Error, Sendable, Equatable, CustomStringConvertible {
        public var descriptor: String
        public var reason: String
        public var description: String { "invalid problem descriptor '\(descriptor)': \(reason)" }
    }

    public static let keys = ["mb", "ic", "ih", "iw", "oc", "kh", "kw", "sh", "sw", "pt", "pb", "pl", "pr", "dh", "dw", "g", "dg", "ph", "pw"]

    public init(parsing text: String) throws(ParseError) {
        var body = Substring(text)
        if let colon = text.firstIndex(of: ":") {
            let name = String(text[..<colon])
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
                throw ParseError(descriptor: text, reason: "the name before ':' must be letters, digits, '-', '_' or '.'")
            }
            self.name = name
            body = text[text.index(after: colon)...]
        }
        var values: [String: Int] = [:]
        var rest = body[...]
        while !rest.isEmpty {
            let key = rest.prefix { $0.isASCII && $0.isLowercase }
            rest = rest.dropFirst(key.count)
            let digits = rest.prefix { $0.isASCII && $0.isNumber }
            rest = rest.dropFirst(digits.count)
            guard !key.isEmpty, Self.keys.contains(String(key)) else {
                throw ParseError(descriptor: text, reason: "unknown key '\(key.isEmpty ? String(rest.prefix(1)) : String(key))'; keys are \(Self.keys.joined(separator: ", "))")
            }
            guard let value = Int(digits) else {
                throw ParseError(descriptor: text, reason: "key '\(key)' needs a non-negative integer value")
            }
            guard values.updateValue(value, forKey: String(key)) == nil else {
                throw ParseError(descriptor: text, reason: "key '\(key)' is given twice")
            }
        }
        for (short, pair) in [("ph", ("pt", "pb")), ("pw", ("pl", "pr"))] where values[short] != nil {
            guard values[pair.0] == nil, values[pair.1] == nil else {
                throw ParseError(descriptor: text, reason: "'\(short)' cannot be combined with '\(pair.0)' or '\(pair.1)'")
            }
            (values[pair.0], values[pair.1]) = (values[short], values[short])
        }
        for required in ["ic", "ih", "oc", "kh"] where values[required] == nil {
            throw ParseError(descriptor: text, reason: "key '\(required)' is required")
        }
        var g = ConvGeometry()
        g.batch = values["mb"] ?? 1
        g.channels = values["ic"]!
        g.height = values["ih"]!
        g.width = values["iw"] ?? g.height
        g.outputChannels = values["oc"]!
        g.kernelHeight = values["kh"]!
        g.kernelWidth = values["kw"] ?? g.kernelHeight
        g.strideHeight = values["sh"] ?? 1
        g.strideWidth = values["sw"] ?? g.strideHeight
        g.padTop = values["pt"] ?? 0
        g.padBottom = values["pb"] ?? 0
        g.padLeft = values["pl"] ?? 0
        g.padRight = values["pr"] ?? 0
        g.dilationHeight = values["dh"] ?? 1
        g.dilationWidth = values["dw"] ?? g.dilationHeight
        g.groups = values["g"] ?? 1
        g.deformableGroups = values["dg"] ?? 1
        self.geometry = g
    }

    /// The descriptor in canonical form: fixed key order, defaults omitted, `ph`/`pw` where both sides agree.
    public var description: String {
        let g = geometry
        var parts: [(String, Int)] = []
        func add(_ key: String, _ value: Int, unless omitted: Bool) { if !omitted { parts.append((key, value)) } }
        add("mb", g.batch, unless: g.batch == 1)
        add("ic", g.channels, unless: false)
        add("ih", g.height, unless: false)
        add("iw", g.width, unless: g.width == g.height)
        add("oc", g.outputChannels, unless: false)
        add("kh", g.kernelHeight, unless: false)
        add("kw", g.kernelWidth, unless: g.kernelWidth == g.kernelHeight)
        add("sh", g.strideHeight, unless: g.strideHeight == 1)
        add("sw", g.strideWidth, unless: g.strideWidth == g.strideHeight)
        if g.padTop == g.padBottom {
            add("ph", g.padTop, unless: g.padTop == 0)
        } else {
            add("pt", g.padTop, unless: false)
            add("pb", g.padBottom, unless: false)
        }
        if g.padLeft == g.padRight {
            add("pw", g.padLeft, unless: g.padLeft == 0)
        } else {
            add("pl", g.padLeft, unless: false)
            add("pr", g.padRight, unless: false)
        }
        add("dh", g.dilationHeight, unless: g.dilationHeight == 1)
        add("dw", g.dilationWidth, unless: g.dilationWidth == g.dilationHeight)
        add("g", g.groups, unless: g.groups == 1)
        add("dg", g.deformableGroups, unless: g.deformableGroups == 1)
        let body = parts.map { "\($0.0)\($0.1)" }.joined()
        return name.map { "\($0):\(body)" } ?? body
    }
}

/// How a harness lays out the offsets and masks (SPEC section 1, with K = dg·kh·kw taps).
///
/// - dcn (MindSpore): one tensor (N, 3K, Ho, Wo): K x offsets, K y offsets, K masks.
/// - torchvision: offset (N, 2K, Ho, Wo) holding (dy, dx) per tap, mask (N, K, Ho, Wo); padding
///   symmetric only.
/// - onnx: DeformConv (opset 19) has torchvision's offset and mask; pads (top, left, bottom, right).
///
/// Laid end to end (offset's channels, then mask's), the torchvision and ONNX tensors are a
/// permutation of dcn's channels; that is how an outputs file of such a harness stores goffsets.
public enum OffsetsLayout: String, CaseIterable, Sendable {
    case dcn, torchvision, onnx

    /// For each channel of the layout's (offset ++ mask) tensor, the dcn channel it holds.
    public func dcnChannels(taps: Int) -> [Int] {
        guard self != .dcn else { return Array(0..<(3 * taps)) }
        return (0..<(3 * taps)).map { channel in
            guard channel < 2 * taps else { return channel }
            let (tap, isDx) = (channel / 2, channel % 2 == 1)
            return isDx ? tap : taps + tap
        }
    }

    /// dcn's (N, 3K, Ho, Wo) from the layout's (offset ++ mask) of the same shape.
    public func toDcn(_ values: [Double], batch: Int, taps: Int, pixels: Int) -> [Double] {
        permute(values, batch: batch, taps: taps, pixels: pixels, toDcn: true)
    }

    /// The layout's (offset ++ mask) from dcn's (N, 3K, Ho, Wo).
    public func fromDcn<T>(_ values: [T], batch: Int, taps: Int, pixels: Int) -> [T] {
        permute(values, batch: batch, taps: taps, pixels: pixels, toDcn: false)
    }

    private func permute<T>(_ values: [T], batch: Int, taps: Int, pixels: Int, toDcn: Bool) -> [T] {
        guard self != .dcn else { return values }
        let channels = dcnChannels(taps: taps)
        var result = values
        for n in 0..<batch {
            for (channel, dcnChannel) in channels.enumerated() {
                let layoutBase = (n * 3 * taps + channel) * pixels
                let dcnBase = (n * 3 * taps + dcnChannel) * pixels
                let (from, to) = toDcn ? (layoutBase, dcnBase) : (dcnBase, layoutBase)
                for p in 0..<pixels { result[to + p] = values[from + p] }
            }
        }
        return result
    }
}

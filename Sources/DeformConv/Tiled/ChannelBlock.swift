/// A run of channels of one convolution group and one offset group: the unit the backward and the
/// channels-last forward sample, since one plan entry per tap then serves all its channels.
struct ChannelBlock: Sendable {
    let group: Int
    let offsetGroup: Int
    /// The first channel (of all C) and how many.
    let firstChannel: Int
    let channels: Int
    /// channels · kh·kw.
    let rows: Int
    /// The block's first reduction row within its group: (firstChannel − group·C/groups)·kh·kw.
    let firstRow: Int

    /// The problem's channels in order, each segment (the channels sharing a convolution group and
    /// an offset group) cut into the fewest blocks of at most `channels(segment)` channels, balanced.
    static func cut(_ problem: DeformConvProblem, channels perBlock: (_ segment: Int) -> Int) -> [ChannelBlock] {
        let taps = problem.kernelHeight * problem.kernelWidth
        let (cpg, cpdg) = (problem.channelsPerGroup, problem.channelsPerDeformableGroup)
        var blocks: [ChannelBlock] = []
        var first = 0
        while first < problem.channels {
            let group = first / cpg, offsetGroup = first / cpdg
            let segment = min((group + 1) * cpg, (offsetGroup + 1) * cpdg) - first
            let cut = SliverPartition(segment, partsOfAtMost: perBlock(segment))
            for b in 0..<cut.slivers {
                let channels = cut.start(b + 1) - cut.start(b)
                blocks.append(ChannelBlock(group: group, offsetGroup: offsetGroup, firstChannel: first, channels: channels,
                                           rows: channels * taps, firstRow: (first - group * cpg) * taps))
                first += channels
            }
        }
        return blocks
    }
}

// The harness, one import for the command line and the tests. Its layers are separate targets,
// so that the build keeps their dependencies pointing one way (README: Architecture):
//
//   Formats → Scoring → Suites, Evaluation, Bench → Reports
//
// with the kernels (DeformConv, DeformConvAVX512) and the HDF5 wrapper below them all.
@_exported import Bench
@_exported import Evaluation
@_exported import Formats
@_exported import Reports
@_exported import Scoring
@_exported import Suites

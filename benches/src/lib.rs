//! mdm benchmarks

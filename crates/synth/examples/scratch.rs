//! Scratch timing run (temporary).
fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(200);
    let t = std::time::Instant::now();
    let mut sink = tessera_synth::MemorySink::default();
    let s = tessera_synth::generate(&tessera_synth::Config::new(77, n), &mut sink).unwrap();
    let generated = t.elapsed();
    let mut bytes = 0;
    for (_, b) in sink.bundles() { bytes += tessera_synth::json::to_compact(&b).len(); }
    println!("{:?} gen={generated:?} total={:?} bytes/patient={}", s.totals, t.elapsed(), bytes as u64 / n);
    println!("{:?}", s.counts);
    println!("{:?}", s.label_counts);
}

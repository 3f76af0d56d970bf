// VTM hard negatives drawn on the GPU from the VTC similarities, so the trainer never reads
// them back. sim is (B, B), sim[v, t] = video v · text t. Thread s < 2B draws one negative:
//   s = i       (video i):  a text  j != i with probability ∝ exp((sim[i, j] − m) / τ)
//   s = B + i   (text i):   a video j != i with probability ∝ exp((sim[j, i] − m) / τ)
// where m is the largest of those B − 1 similarities (the same distribution as
// exp((sim − 1) / τ), without underflow at small τ). The uniform u comes from a counter-based
// hash of (seed, s), so a draw depends only on the seed and the thread, never on scheduling.
// Output rows for the 3B VTM pairs (positives, video with hard text, hard video with text):
//   text_rows  = [0..B, neg_text,  0..B]
//   video_rows = [0..B, 0..B,      neg_video]

struct Params {
    b: u32,
    inv_tau: f32,
    seed_lo: u32,
    seed_hi: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> sim: array<f32>;
@group(0) @binding(2) var<storage, read_write> text_rows: array<u32>;
@group(0) @binding(3) var<storage, read_write> video_rows: array<u32>;

// PCG-RXS-M-XS 32-bit output hash (Jarzynski & Olano, "Hash Functions for GPU Rendering").
fn pcg(v: u32) -> u32 {
    let s = v * 747796405u + 2891336453u;
    let w = ((s >> ((s >> 28u) + 4u)) ^ s) * 277803737u;
    return (w >> 22u) ^ w;
}

// sim of candidate j for draw (dir, i): row i for a text, column i for a video.
fn score(dir: u32, i: u32, j: u32) -> f32 {
    if dir == 0u {
        return sim[i * p.b + j];
    }
    return sim[j * p.b + i];
}

@compute @workgroup_size(64)
fn draw(@builtin(global_invocation_id) gid: vec3<u32>) {
    let s = gid.x;
    if s >= 2u * p.b { return; }
    let dir = s / p.b;
    let i = s % p.b;
    var m = -3.0e38;
    for (var j = 0u; j < p.b; j++) {
        if j != i { m = max(m, score(dir, i, j)); }
    }
    var total = 0.0;
    for (var j = 0u; j < p.b; j++) {
        if j != i { total += exp((score(dir, i, j) - m) * p.inv_tau); }
    }
    let h = pcg(pcg(pcg(p.seed_lo) ^ p.seed_hi) ^ s);
    var left = f32(h >> 8u) * (1.0 / 16777216.0) * total;
    // The last candidate takes whatever rounding leaves over.
    var pick = select(p.b - 1u, p.b - 2u, i == p.b - 1u);
    for (var j = 0u; j < p.b; j++) {
        if j == i { continue; }
        let w = exp((score(dir, i, j) - m) * p.inv_tau);
        if left < w {
            pick = j;
            break;
        }
        left -= w;
    }
    if dir == 0u {
        text_rows[i] = i;
        text_rows[p.b + i] = pick;
        text_rows[2u * p.b + i] = i;
    } else {
        video_rows[i] = i;
        video_rows[p.b + i] = i;
        video_rows[2u * p.b + i] = pick;
    }
}

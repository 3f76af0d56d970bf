// What every attention kernel shares (attention, attention_backward, attention_rows and
// dev/attention_unfused*): the score of a masked key, and the parameters bound at binding 0,
// whose Rust side is `attention::launch::Params`. `stage` selects one stage of a multi-stage
// entry point; `tokens_major` (q, k, v as (B, T, H, D)) is read by the fused kernels only;
// keys from `keys` on are padding (the matmul route's rows kernels; Tk elsewhere).

const MASKED: f32 = -1e30;

struct Params {
    b: u32,
    h: u32,
    tq: u32,
    tk: u32,
    d: u32,
    has_mask: u32,
    scale: f32,
    stage: u32,
    tokens_major: u32,
    keys: u32,
    _pad2: u32,
    _pad3: u32,
}

//! The multi-tensor AdamW (flat groups, one dispatch per group) against the per-tensor kernels
//! it replaced: parameters, moments and the gradient norm within 4 ulp, with weight-decay
//! exclusions, clipping, a tensor without a gradient, and one group or several; the
//! size-bucketing rule; moments read and written per tensor by name (checkpoints).

mod common;

use common::{assert_within_ulps, gpu, random};
use locomotion::gpu::{CommandBatch, Gpu, GpuBuffer};
use locomotion::tensor::ops::adamw::{
    AdamWHyper as Hyper, adamw_step, clip_grad_norm, partials_len,
};
use locomotion::tensor::ops::reduce::sum_all;
use locomotion::tensor::ops::unary::mul;
use locomotion::tensor::{Tape, Tensor};
use locomotion::train::flat::bucket;
use locomotion::train::optim::AdamW;

/// Stated bound: the flat norm adds the squares in other chunks than the per-tensor norm
/// (a different rounding of the same sum), so the clip scale, and through it the update,
/// may differ in the last bits.
const ULPS: f32 = 4.0;

const SHAPES: [(&str, &[usize]); 5] = [
    ("enc.weight", &[3, 5]),
    ("enc.bias", &[5]),
    ("norm.weight", &[7]),
    ("head.weight", &[40, 30]),
    ("embeddings.word", &[9, 2]),
];

/// The per-tensor reference: parameters, moments and gradient buffers of each tensor.
struct Reference {
    p: Vec<GpuBuffer>,
    m: Vec<GpuBuffer>,
    v: Vec<GpuBuffer>,
}

fn zeros(g: &Gpu, n: usize) -> GpuBuffer {
    g.filled(4 * n as u64, 0, "zeros").unwrap()
}

/// One reference step over the tensors with a gradient (`grads[i]` Some), as the optimizer
/// did before: clipping over every live gradient, then one AdamW dispatch per tensor.
fn reference_step(
    g: &Gpu,
    r: &Reference,
    grads: &[Option<Vec<f32>>],
    decay: &[bool],
    hyper: Hyper,
    step: u32,
    max_norm: f32,
) -> f32 {
    let live: Vec<(usize, GpuBuffer, u32)> = grads
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            c.as_ref()
                .map(|c| (i, g.upload(c, "grad").unwrap(), c.len() as u32))
        })
        .collect();
    let lens: Vec<u32> = live.iter().map(|l| l.2).collect();
    let partials = zeros(g, partials_len(&lens) as usize);
    let clip = zeros(g, 2);
    let mut b = CommandBatch::new(g);
    let list: Vec<(&GpuBuffer, u32)> = live.iter().map(|l| (&l.1, l.2)).collect();
    clip_grad_norm(&mut b, &list, max_norm, &partials, &clip).unwrap();
    for (i, grad, n) in &live {
        let h = Hyper {
            weight_decay: if decay[*i] { hyper.weight_decay } else { 0.0 },
            ..hyper
        };
        adamw_step(
            &mut b, &h, step, &r.p[*i], grad, &r.m[*i], &r.v[*i], &clip, *n,
        )
        .unwrap();
    }
    b.submit_and_wait().unwrap();
    g.read::<f32>(&clip).unwrap()[0]
}

fn run(max_len: Option<u64>, max_norm: f32, want_groups: usize) {
    let g = gpu();
    let init: Vec<Vec<f32>> = SHAPES
        .iter()
        .enumerate()
        .map(|(i, (_, s))| random(s.iter().product(), 20 + i as u64))
        .collect();
    let tensors: Vec<Tensor> = SHAPES
        .iter()
        .zip(&init)
        .map(|((_, s), d)| Tensor::param(&g, d, *s).unwrap())
        .collect();
    let named = SHAPES
        .iter()
        .zip(&tensors)
        .map(|((n, _), t)| (n.to_string(), t.clone()));
    let hyper = Hyper {
        lr: 0.01,
        weight_decay: 0.1,
        ..Hyper::default()
    };
    let mut opt = match max_len {
        Some(l) => AdamW::with_group_limit(&g, named, hyper, max_norm, l).unwrap(),
        None => AdamW::new(&g, named, hyper, max_norm).unwrap(),
    };
    assert_eq!(opt.groups(), want_groups);
    // Decay a table by override, exempt nothing else: both rules reach the kernel.
    opt.set_decay("embeddings.word", true).unwrap();
    let decay: Vec<bool> = SHAPES
        .iter()
        .map(|(n, _)| opt.decay_of(n).unwrap())
        .collect();
    assert_eq!(decay, [true, false, false, true, true]);
    let r = Reference {
        p: init.iter().map(|d| g.upload(d, "p").unwrap()).collect(),
        m: init.iter().map(|d| zeros(&g, d.len())).collect(),
        v: init.iter().map(|d| zeros(&g, d.len())).collect(),
    };
    for step in 1..=3u32 {
        // loss = sum over tensors of sum(w * c): each gradient is its constant c exactly;
        // "norm.weight" sits out step 2 (no gradient: neither it nor its moments move).
        let grads: Vec<Option<Vec<f32>>> = init
            .iter()
            .enumerate()
            .map(|(i, x)| {
                (step != 2 || i != 2).then(|| random(x.len(), 100 * step as u64 + i as u64))
            })
            .collect();
        let tape = Tape::new(&g);
        opt.zero_grad();
        let mut loss: Option<Tensor> = None;
        for (t, c) in tensors.iter().zip(&grads) {
            let Some(c) = c else { continue };
            let ct = Tensor::from_host(&g, c, t.shape().clone()).unwrap();
            let term = sum_all(&tape, &mul(&tape, t, &ct).unwrap()).unwrap();
            loss = Some(match loss {
                Some(l) => locomotion::tensor::ops::elementwise::add(&tape, &l, &term).unwrap(),
                None => term,
            });
        }
        tape.backward(&loss.unwrap()).unwrap();
        opt.step(hyper.lr).unwrap();
        let want_norm = reference_step(&g, &r, &grads, &decay, hyper, step, max_norm);
        let norm = opt.grad_norm().unwrap();
        assert_within_ulps(&[norm], &[want_norm], ULPS, &format!("step {step}: norm"));
        for (i, (name, _)) in SHAPES.iter().enumerate() {
            let what = |x: &str| format!("step {step}: {x} of {name}");
            let want = g.read::<f32>(&r.p[i]).unwrap();
            assert_within_ulps(
                &tensors[i].to_vec().unwrap(),
                &want[..init[i].len()],
                ULPS,
                &what("parameter"),
            );
            let (m, v) = opt.moments_to_host(name).unwrap().unwrap();
            let n = init[i].len();
            assert_within_ulps(&m, &g.read::<f32>(&r.m[i]).unwrap()[..n], ULPS, &what("m"));
            assert_within_ulps(&v, &g.read::<f32>(&r.v[i]).unwrap()[..n], ULPS, &what("v"));
        }
    }
}

#[test]
fn one_flat_group_equals_the_per_tensor_steps_with_clipping() {
    run(None, 0.5, 1);
}

#[test]
fn several_groups_equal_the_per_tensor_steps_without_clipping() {
    // 40 x 30 = 1200 floats alone, the small tensors packed around it: 3 groups.
    run(Some(1200), 0.0, 3);
}

#[test]
fn tensors_are_bucketed_in_order_by_size() {
    assert_eq!(
        bucket(&[3, 4, 2, 8, 1], 8).unwrap(),
        vec![vec![0, 1], vec![2], vec![3], vec![4]]
    );
    assert_eq!(bucket(&[2, 2, 2, 2], 8).unwrap(), vec![vec![0, 1, 2, 3]]);
    let e = bucket(&[3, 9], 8).unwrap_err().to_string();
    assert!(e.contains("larger than one storage binding"), "{e}");
}

#[test]
fn moments_load_and_read_back_per_tensor_by_name() {
    let g = gpu();
    let a = Tensor::param(&g, &random(6, 1), [2, 3]).unwrap();
    let b = Tensor::param(&g, &random(5, 2), [5]).unwrap();
    let named = [("a".to_string(), a), ("b".to_string(), b)];
    let opt = AdamW::new(&g, named, Hyper::default(), 1.0).unwrap();
    let (m, v) = (random(5, 3), random(5, 4));
    opt.set_moments("b", &m, &v).unwrap();
    assert_eq!(opt.moments_to_host("b").unwrap(), Some((m.clone(), v)));
    assert_eq!(
        opt.moments_to_host("a").unwrap(),
        Some((vec![0.0; 6], vec![0.0; 6]))
    );
    assert_eq!(opt.moments_to_host("c").unwrap(), None);
    let e = opt.set_moments("a", &m, &m).unwrap_err().to_string();
    assert!(e.contains("m of 'a' has 5 values, the parameter 6"), "{e}");
    assert!(opt.set_moments("c", &m, &m).is_err());
}

;; tfjs-gan's own WebAssembly SIMD kernels, run on the memory of @tensorflow/tfjs-backend-wasm.
;;
;; Compiled by scripts/build-wasm.mjs into kernels-binary.ts, twice: once importing an ordinary
;; memory (tfjs's single-threaded builds) and once a shared one (its threaded build): the build
;; replaces the placeholder line below by the matching import. Edit this file, then `npm run build:wasm`.
(module
  (;MEMORY;)

  ;; Adam's update of one variable, element by element, with exactly the float32 operations of
  ;; tfjs's AdamOptimizer.applyGradients in the same order (each wasm f32 operation rounds, as each
  ;; tfjs kernel does):
  ;;   m' = m·β1 + g·(1−β1);   v' = v·β2 + (g·g)·(1−β2)
  ;;   w' = ((m'/c1) / (√(v'/c2) + ε))·(−lr) + w,   c1 = 1 − β1ᵗ, c2 = 1 − β2ᵗ
  ;; w, m, v, g, ow, om, ov are byte offsets of n float32 values; the outputs may not alias the inputs.
  (func (export "adam")
    (param $w i32) (param $m i32) (param $v i32) (param $g i32)
    (param $ow i32) (param $om i32) (param $ov i32) (param $n i32)
    (param $beta1 f32) (param $omb1 f32) (param $beta2 f32) (param $omb2 f32)
    (param $eps f32) (param $neglr f32) (param $c1 f32) (param $c2 f32)
    (local $i i32) (local $end4 i32) (local $o i32)
    (local $gv v128) (local $mv v128) (local $vv v128)
    (local $gs f32) (local $ms f32) (local $vs f32)
    (local.set $end4 (i32.and (local.get $n) (i32.const -4)))
    ;; four elements at a time
    (block $done4
      (loop $four
        (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gv (v128.load (i32.add (local.get $g) (local.get $o))))
        (local.set $mv
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $m) (local.get $o))) (f32x4.splat (local.get $beta1)))
            (f32x4.mul (local.get $gv) (f32x4.splat (local.get $omb1)))))
        (local.set $vv
          (f32x4.add
            (f32x4.mul (v128.load (i32.add (local.get $v) (local.get $o))) (f32x4.splat (local.get $beta2)))
            (f32x4.mul (f32x4.mul (local.get $gv) (local.get $gv)) (f32x4.splat (local.get $omb2)))))
        (v128.store (i32.add (local.get $om) (local.get $o)) (local.get $mv))
        (v128.store (i32.add (local.get $ov) (local.get $o)) (local.get $vv))
        (v128.store (i32.add (local.get $ow) (local.get $o))
          (f32x4.add
            (f32x4.mul
              (f32x4.div
                (f32x4.div (local.get $mv) (f32x4.splat (local.get $c1)))
                (f32x4.add
                  (f32x4.sqrt (f32x4.div (local.get $vv) (f32x4.splat (local.get $c2))))
                  (f32x4.splat (local.get $eps))))
              (f32x4.splat (local.get $neglr)))
            (v128.load (i32.add (local.get $w) (local.get $o)))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $four)))
    ;; the last n mod 4 elements
    (block $done
      (loop $one
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $o (i32.shl (local.get $i) (i32.const 2)))
        (local.set $gs (f32.load (i32.add (local.get $g) (local.get $o))))
        (local.set $ms
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $m) (local.get $o))) (local.get $beta1))
            (f32.mul (local.get $gs) (local.get $omb1))))
        (local.set $vs
          (f32.add
            (f32.mul (f32.load (i32.add (local.get $v) (local.get $o))) (local.get $beta2))
            (f32.mul (f32.mul (local.get $gs) (local.get $gs)) (local.get $omb2))))
        (f32.store (i32.add (local.get $om) (local.get $o)) (local.get $ms))
        (f32.store (i32.add (local.get $ov) (local.get $o)) (local.get $vs))
        (f32.store (i32.add (local.get $ow) (local.get $o))
          (f32.add
            (f32.mul
              (f32.div
                (f32.div (local.get $ms) (local.get $c1))
                (f32.add (f32.sqrt (f32.div (local.get $vs) (local.get $c2))) (local.get $eps)))
              (local.get $neglr))
            (f32.load (i32.add (local.get $w) (local.get $o)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $one)))
  )

  ;; ---------------------------------------------------------------------------------------------
  ;; Matrix product C[M,N] = A·B (+ bias[n] on every row), float32, K ≥ 1. Each output element is
  ;; accumulated in k order from the bias (0 without $hasBias) — acc = acc + A(m,k)·B(k,n), each
  ;; operation rounded to float32 — which is also what XNNPACK's kernels do: the same bits. A's
  ;; element (m, k) is at a + 4·(m·sam + k·sak), so a transposed A is a choice of strides; B's (k, n)
  ;; at b + 4·(k·ldb + n) (B's rows contiguous); C is M×N, row-major.
  ;;
  ;; Cache blocking: k in blocks of 256 and the columns in panels of 256, so that the part of B a
  ;; panel reads (at most 256 KiB) stays in cache while every row block of A passes over it; after the
  ;; first k block the accumulators start from C (a float32 stored and loaded is unchanged, so the
  ;; sum and its order are the same). Inside: blocks of 4 rows × 8 columns (eight 4-lane
  ;; accumulators), the last M mod 4 rows one at a time, the last N mod 8 columns one element at a time.
  (func (export "gemm")
    (param $a i32) (param $sam i32) (param $sak i32) (param $b i32) (param $ldb i32)
    (param $c i32) (param $M i32) (param $K i32) (param $N i32) (param $bias i32) (param $hasBias i32)
    (local $m i32) (local $n i32) (local $m4 i32) (local $n8 i32)
    (local $k0 i32) (local $kc i32) (local $n0 i32) (local $n1 i32) (local $init i32) (local $ak i32) (local $bk i32)
    (local.set $m4 (i32.and (local.get $M) (i32.const -4)))
    (local.set $n8 (i32.and (local.get $N) (i32.const -8)))
    (local.set $init (local.get $hasBias))
    (block $kdone (loop $kloop
      (br_if $kdone (i32.ge_u (local.get $k0) (local.get $K)))
      (local.set $kc (i32.sub (local.get $K) (local.get $k0)))
      (if (i32.gt_u (local.get $kc) (i32.const 256)) (then (local.set $kc (i32.const 256))))
      ;; A and B from column / row k0
      (local.set $ak (i32.add (local.get $a) (i32.shl (i32.mul (local.get $k0) (local.get $sak)) (i32.const 2))))
      (local.set $bk (i32.add (local.get $b) (i32.shl (i32.mul (local.get $k0) (local.get $ldb)) (i32.const 2))))
      (local.set $n0 (i32.const 0))
      (block $pdone (loop $ploop
        (br_if $pdone (i32.ge_u (local.get $n0) (local.get $n8)))
        (local.set $n1 (i32.add (local.get $n0) (i32.const 256)))
        (if (i32.gt_u (local.get $n1) (local.get $n8)) (then (local.set $n1 (local.get $n8))))
        ;; rows in blocks of 4, then one at a time
        (local.set $m (i32.const 0))
        (block $mdone (loop $mloop
          (br_if $mdone (i32.ge_u (local.get $m) (local.get $m4)))
          (local.set $n (local.get $n0))
          (block $ndone (loop $nloop
            (br_if $ndone (i32.ge_u (local.get $n) (local.get $n1)))
            (call $block4x8 (local.get $ak) (local.get $sam) (local.get $sak) (local.get $bk) (local.get $ldb)
              (local.get $c) (local.get $kc) (local.get $N) (local.get $bias) (local.get $init) (local.get $m) (local.get $n))
            (local.set $n (i32.add (local.get $n) (i32.const 8)))
            (br $nloop)))
          (local.set $m (i32.add (local.get $m) (i32.const 4)))
          (br $mloop)))
        (block $rdone (loop $rloop
          (br_if $rdone (i32.ge_u (local.get $m) (local.get $M)))
          (local.set $n (local.get $n0))
          (block $ndone1 (loop $nloop1
            (br_if $ndone1 (i32.ge_u (local.get $n) (local.get $n1)))
            (call $block1x8 (local.get $ak) (local.get $sam) (local.get $sak) (local.get $bk) (local.get $ldb)
              (local.get $c) (local.get $kc) (local.get $N) (local.get $bias) (local.get $init) (local.get $m) (local.get $n))
            (local.set $n (i32.add (local.get $n) (i32.const 8)))
            (br $nloop1)))
          (local.set $m (i32.add (local.get $m) (i32.const 1)))
          (br $rloop)))
        (local.set $n0 (local.get $n1))
        (br $ploop)))
      ;; the last N mod 8 columns of every row
      (local.set $m (i32.const 0))
      (block $tdone (loop $tloop
        (br_if $tdone (i32.ge_u (local.get $m) (local.get $M)))
        (call $rowTail (local.get $ak) (local.get $sam) (local.get $sak) (local.get $bk) (local.get $ldb)
          (local.get $c) (local.get $kc) (local.get $N) (local.get $bias) (local.get $init) (local.get $m) (local.get $n8))
        (local.set $m (i32.add (local.get $m) (i32.const 1)))
        (br $tloop)))
      ;; later k blocks add to what C holds
      (local.set $init (i32.const 2))
      (local.set $k0 (i32.add (local.get $k0) (local.get $kc)))
      (br $kloop)))
  )

  ;; The blocks below sum over k < K from A at a and B at b, their accumulators starting from
  ;; $init: 0 zero, 1 the bias, 2 the values C holds.

  ;; C[m0..m0+3, n0..n0+7]
  (func $block4x8
    (param $a i32) (param $sam i32) (param $sak i32) (param $b i32) (param $ldb i32)
    (param $c i32) (param $K i32) (param $N i32) (param $bias i32) (param $init i32) (param $m0 i32) (param $n0 i32)
    (local $pa0 i32) (local $pa1 i32) (local $pa2 i32) (local $pa3 i32) (local $pb i32) (local $pc i32)
    (local $ra i32) (local $step i32) (local $ldb4 i32) (local $ldc4 i32) (local $k i32)
    (local $b0 v128) (local $b1 v128) (local $x v128) (local $bias0 v128) (local $bias1 v128)
    (local $c00 v128) (local $c01 v128) (local $c10 v128) (local $c11 v128)
    (local $c20 v128) (local $c21 v128) (local $c30 v128) (local $c31 v128)
    (local.set $ra (i32.shl (local.get $sam) (i32.const 2)))
    (local.set $step (i32.shl (local.get $sak) (i32.const 2)))
    (local.set $ldb4 (i32.shl (local.get $ldb) (i32.const 2)))
    (local.set $ldc4 (i32.shl (local.get $N) (i32.const 2)))
    (local.set $pa0 (i32.add (local.get $a) (i32.mul (local.get $m0) (local.get $ra))))
    (local.set $pa1 (i32.add (local.get $pa0) (local.get $ra)))
    (local.set $pa2 (i32.add (local.get $pa1) (local.get $ra)))
    (local.set $pa3 (i32.add (local.get $pa2) (local.get $ra)))
    (local.set $pc (i32.add (local.get $c)
      (i32.shl (i32.add (i32.mul (local.get $m0) (local.get $N)) (local.get $n0)) (i32.const 2))))
    (if (i32.eq (local.get $init) (i32.const 1))
      (then
        (local.set $bias0 (v128.load (i32.add (local.get $bias) (i32.shl (local.get $n0) (i32.const 2)))))
        (local.set $bias1 (v128.load offset=16 (i32.add (local.get $bias) (i32.shl (local.get $n0) (i32.const 2)))))
        (local.set $c00 (local.get $bias0)) (local.set $c01 (local.get $bias1))
        (local.set $c10 (local.get $bias0)) (local.set $c11 (local.get $bias1))
        (local.set $c20 (local.get $bias0)) (local.set $c21 (local.get $bias1))
        (local.set $c30 (local.get $bias0)) (local.set $c31 (local.get $bias1))))
    (if (i32.eq (local.get $init) (i32.const 2))
      (then
        (local.set $c00 (v128.load (local.get $pc)))
        (local.set $c01 (v128.load offset=16 (local.get $pc)))
        (local.set $c10 (v128.load (i32.add (local.get $pc) (local.get $ldc4))))
        (local.set $c11 (v128.load offset=16 (i32.add (local.get $pc) (local.get $ldc4))))
        (local.set $c20 (v128.load (i32.add (local.get $pc) (i32.shl (local.get $ldc4) (i32.const 1)))))
        (local.set $c21 (v128.load offset=16 (i32.add (local.get $pc) (i32.shl (local.get $ldc4) (i32.const 1)))))
        (local.set $c30 (v128.load (i32.add (local.get $pc) (i32.mul (local.get $ldc4) (i32.const 3)))))
        (local.set $c31 (v128.load offset=16 (i32.add (local.get $pc) (i32.mul (local.get $ldc4) (i32.const 3)))))))
    (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $n0) (i32.const 2))))
    (local.set $k (local.get $K))
    (loop $kloop
      (local.set $b0 (v128.load (local.get $pb)))
      (local.set $b1 (v128.load offset=16 (local.get $pb)))
      (local.set $x (v128.load32_splat (local.get $pa0)))
      (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (v128.load32_splat (local.get $pa1)))
      (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (v128.load32_splat (local.get $pa2)))
      (local.set $c20 (f32x4.add (local.get $c20) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c21 (f32x4.add (local.get $c21) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $x (v128.load32_splat (local.get $pa3)))
      (local.set $c30 (f32x4.add (local.get $c30) (f32x4.mul (local.get $x) (local.get $b0))))
      (local.set $c31 (f32x4.add (local.get $c31) (f32x4.mul (local.get $x) (local.get $b1))))
      (local.set $pa0 (i32.add (local.get $pa0) (local.get $step)))
      (local.set $pa1 (i32.add (local.get $pa1) (local.get $step)))
      (local.set $pa2 (i32.add (local.get $pa2) (local.get $step)))
      (local.set $pa3 (i32.add (local.get $pa3) (local.get $step)))
      (local.set $pb (i32.add (local.get $pb) (local.get $ldb4)))
      (br_if $kloop (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
    (v128.store (local.get $pc) (local.get $c00))
    (v128.store offset=16 (local.get $pc) (local.get $c01))
    (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
    (v128.store (local.get $pc) (local.get $c10))
    (v128.store offset=16 (local.get $pc) (local.get $c11))
    (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
    (v128.store (local.get $pc) (local.get $c20))
    (v128.store offset=16 (local.get $pc) (local.get $c21))
    (local.set $pc (i32.add (local.get $pc) (local.get $ldc4)))
    (v128.store (local.get $pc) (local.get $c30))
    (v128.store offset=16 (local.get $pc) (local.get $c31))
  )

  ;; C[m0, n0..n0+7]
  (func $block1x8
    (param $a i32) (param $sam i32) (param $sak i32) (param $b i32) (param $ldb i32)
    (param $c i32) (param $K i32) (param $N i32) (param $bias i32) (param $init i32) (param $m0 i32) (param $n0 i32)
    (local $pa i32) (local $pb i32) (local $pc i32) (local $step i32) (local $ldb4 i32) (local $k i32)
    (local $x v128) (local $c0 v128) (local $c1 v128)
    (local.set $step (i32.shl (local.get $sak) (i32.const 2)))
    (local.set $ldb4 (i32.shl (local.get $ldb) (i32.const 2)))
    (local.set $pa (i32.add (local.get $a) (i32.shl (i32.mul (local.get $m0) (local.get $sam)) (i32.const 2))))
    (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $n0) (i32.const 2))))
    (local.set $pc (i32.add (local.get $c)
      (i32.shl (i32.add (i32.mul (local.get $m0) (local.get $N)) (local.get $n0)) (i32.const 2))))
    (if (i32.eq (local.get $init) (i32.const 1))
      (then
        (local.set $c0 (v128.load (i32.add (local.get $bias) (i32.shl (local.get $n0) (i32.const 2)))))
        (local.set $c1 (v128.load offset=16 (i32.add (local.get $bias) (i32.shl (local.get $n0) (i32.const 2)))))))
    (if (i32.eq (local.get $init) (i32.const 2))
      (then
        (local.set $c0 (v128.load (local.get $pc)))
        (local.set $c1 (v128.load offset=16 (local.get $pc)))))
    (local.set $k (local.get $K))
    (loop $kloop
      (local.set $x (v128.load32_splat (local.get $pa)))
      (local.set $c0 (f32x4.add (local.get $c0) (f32x4.mul (local.get $x) (v128.load (local.get $pb)))))
      (local.set $c1 (f32x4.add (local.get $c1) (f32x4.mul (local.get $x) (v128.load offset=16 (local.get $pb)))))
      (local.set $pa (i32.add (local.get $pa) (local.get $step)))
      (local.set $pb (i32.add (local.get $pb) (local.get $ldb4)))
      (br_if $kloop (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
    (v128.store (local.get $pc) (local.get $c0))
    (v128.store offset=16 (local.get $pc) (local.get $c1))
  )

  ;; C[m0, n] for n0 ≤ n < N, one element at a time
  (func $rowTail
    (param $a i32) (param $sam i32) (param $sak i32) (param $b i32) (param $ldb i32)
    (param $c i32) (param $K i32) (param $N i32) (param $bias i32) (param $init i32) (param $m0 i32) (param $n0 i32)
    (local $n i32) (local $pa i32) (local $pb i32) (local $step i32) (local $ldb4 i32) (local $k i32) (local $acc f32)
    (local.set $step (i32.shl (local.get $sak) (i32.const 2)))
    (local.set $ldb4 (i32.shl (local.get $ldb) (i32.const 2)))
    (local.set $n (local.get $n0))
    (block $done (loop $nloop
      (br_if $done (i32.ge_u (local.get $n) (local.get $N)))
      (local.set $pa (i32.add (local.get $a) (i32.shl (i32.mul (local.get $m0) (local.get $sam)) (i32.const 2))))
      (local.set $pb (i32.add (local.get $b) (i32.shl (local.get $n) (i32.const 2))))
      (local.set $acc (f32.const 0))
      (if (i32.eq (local.get $init) (i32.const 1))
        (then (local.set $acc (f32.load (i32.add (local.get $bias) (i32.shl (local.get $n) (i32.const 2)))))))
      (if (i32.eq (local.get $init) (i32.const 2))
        (then (local.set $acc (f32.load (i32.add (local.get $c)
          (i32.shl (i32.add (i32.mul (local.get $m0) (local.get $N)) (local.get $n)) (i32.const 2)))))))
      (local.set $k (local.get $K))
      (loop $kloop
        (local.set $acc (f32.add (local.get $acc) (f32.mul (f32.load (local.get $pa)) (f32.load (local.get $pb)))))
        (local.set $pa (i32.add (local.get $pa) (local.get $step)))
        (local.set $pb (i32.add (local.get $pb) (local.get $ldb4)))
        (br_if $kloop (local.tee $k (i32.sub (local.get $k) (i32.const 1)))))
      (f32.store (i32.add (local.get $c) (i32.shl (i32.add (i32.mul (local.get $m0) (local.get $N)) (local.get $n)) (i32.const 2)))
        (local.get $acc))
      (local.set $n (i32.add (local.get $n) (i32.const 1)))
      (br $nloop)))
  )

  ;; ---------------------------------------------------------------------------------------------
  ;; dst (cols×rows) = transpose of src (rows×cols), float32, row-major: blocks of 4×4 through
  ;; lane shuffles, the edges one element at a time. Only moves data.
  (func (export "transpose") (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (local $r i32) (local $c i32) (local $r4 i32) (local $c4 i32) (local $p i32) (local $q i32)
    (local $ss i32) (local $ds i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local.set $r4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $c4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $ss (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $ds (i32.shl (local.get $rows) (i32.const 2)))
    (local.set $r (i32.const 0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $r4)))
      (local.set $c (i32.const 0))
      (block $cdone (loop $cloop
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $c4)))
        (local.set $p (i32.add (local.get $src)
          (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2))))
        (local.set $x0 (v128.load (local.get $p)))
        (local.set $x1 (v128.load (i32.add (local.get $p) (local.get $ss))))
        (local.set $x2 (v128.load (i32.add (local.get $p) (i32.shl (local.get $ss) (i32.const 1)))))
        (local.set $x3 (v128.load (i32.add (local.get $p) (i32.mul (local.get $ss) (i32.const 3)))))
        ;; t0 = x0[0] x1[0] x0[1] x1[1], t1 = x0[2] x1[2] x0[3] x1[3], t2/t3 the same for x2, x3
        (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x0) (local.get $x1)))
        (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x0) (local.get $x1)))
        (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x2) (local.get $x3)))
        (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x2) (local.get $x3)))
        (local.set $q (i32.add (local.get $dst)
          (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (local.get $r)) (i32.const 2))))
        (v128.store (local.get $q) (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $q) (local.get $ds))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
        (v128.store (i32.add (local.get $q) (i32.shl (local.get $ds) (i32.const 1)))
          (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
        (v128.store (i32.add (local.get $q) (i32.mul (local.get $ds) (i32.const 3)))
          (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $cloop)))
      (local.set $r (i32.add (local.get $r) (i32.const 4)))
      (br $rloop)))
    ;; the last cols mod 4 columns of the first r4 rows, then the last rows mod 4 rows
    (call $transposeEdge (local.get $src) (local.get $dst) (local.get $rows) (local.get $cols)
      (i32.const 0) (local.get $r4) (local.get $c4) (local.get $cols))
    (call $transposeEdge (local.get $src) (local.get $dst) (local.get $rows) (local.get $cols)
      (local.get $r4) (local.get $rows) (i32.const 0) (local.get $cols))
  )

  ;; dst[c, r] = src[r, c] for r0 ≤ r < r1, c0 ≤ c < c1
  (func $transposeEdge (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (param $r0 i32) (param $r1 i32) (param $c0 i32) (param $c1 i32)
    (local $r i32) (local $c i32)
    (local.set $r (local.get $r0))
    (block $rdone (loop $rloop
      (br_if $rdone (i32.ge_u (local.get $r) (local.get $r1)))
      (local.set $c (local.get $c0))
      (block $cdone (loop $cloop
        (br_if $cdone (i32.ge_u (local.get $c) (local.get $c1)))
        (f32.store
          (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $c) (local.get $rows)) (local.get $r)) (i32.const 2)))
          (f32.load
            (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $r) (local.get $cols)) (local.get $c)) (i32.const 2)))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $cloop)))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rloop)))
  )

;; ---------------------------------------------------------------------------------------------
  ;; out[c] = Σ_r x[r·cols + c] over r = 0, 1, … in that order, from +0, rounded to float32 at each
  ;; step (tfjs-backend-wasm's Sum after its transpose: the same bits), row by row with 4 columns a
  ;; lane group; then out[c] / rows when $mean (its Mean). x is [rows, cols] float32.
  (func (export "colsum") (param $x i32) (param $out i32) (param $rows i32) (param $cols i32) (param $mean i32)
    (local $r i32) (local $c i32) (local $end4 i32) (local $row i32) (local $o i32) (local $p i32) (local $d f32)
    (block $z (loop $zero
      (br_if $z (i32.ge_u (local.get $c) (local.get $cols)))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2))) (f32.const 0))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br $zero)))
    (local.set $end4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $row (local.get $x))
    (block $rd (loop $rl
      (br_if $rd (i32.ge_u (local.get $r) (local.get $rows)))
      (local.set $c (i32.const 0))
      (block $d4 (loop $four
        (br_if $d4 (i32.ge_u (local.get $c) (local.get $end4)))
        (local.set $o (i32.shl (local.get $c) (i32.const 2)))
        (local.set $p (i32.add (local.get $out) (local.get $o)))
        (v128.store (local.get $p)
          (f32x4.add (v128.load (local.get $p)) (v128.load (i32.add (local.get $row) (local.get $o)))))
        (local.set $c (i32.add (local.get $c) (i32.const 4)))
        (br $four)))
      (block $d1 (loop $one
        (br_if $d1 (i32.ge_u (local.get $c) (local.get $cols)))
        (local.set $o (i32.shl (local.get $c) (i32.const 2)))
        (local.set $p (i32.add (local.get $out) (local.get $o)))
        (f32.store (local.get $p)
          (f32.add (f32.load (local.get $p)) (f32.load (i32.add (local.get $row) (local.get $o)))))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $one)))
      (local.set $row (i32.add (local.get $row) (i32.shl (local.get $cols) (i32.const 2))))
      (local.set $r (i32.add (local.get $r) (i32.const 1)))
      (br $rl)))
    (if (local.get $mean) (then
      (local.set $d (f32.convert_i32_u (local.get $rows)))
      (local.set $c (i32.const 0))
      (block $md (loop $ml
        (br_if $md (i32.ge_u (local.get $c) (local.get $cols)))
        (local.set $p (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2))))
        (f32.store (local.get $p) (f32.div (f32.load (local.get $p)) (local.get $d)))
        (local.set $c (i32.add (local.get $c) (i32.const 1)))
        (br $ml)))))
  )

  ;; ---------------------------------------------------------------------------------------------
  ;; out = x < 0 ? alpha·x : x, float32 (tfjs-backend-wasm's LeakyRelu, the same bits).
  (func (export "leakyRelu") (param $x i32) (param $out i32) (param $n i32) (param $alpha f32)
    (local $i i32) (local $end4 i32) (local $o i32) (local $v v128) (local $s f32)
    (local.set $end4 (i32.and (local.get $n) (i32.const -4)))
    (block $done4 (loop $four
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
      (local.set $o (i32.shl (local.get $i) (i32.const 2)))
      (local.set $v (v128.load (i32.add (local.get $x) (local.get $o))))
      (v128.store (i32.add (local.get $out) (local.get $o))
        (v128.bitselect
          (f32x4.mul (local.get $v) (f32x4.splat (local.get $alpha)))
          (local.get $v)
          (f32x4.lt (local.get $v) (f32x4.splat (f32.const 0)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $four)))
    (block $done (loop $one
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $o (i32.shl (local.get $i) (i32.const 2)))
      (local.set $s (f32.load (i32.add (local.get $x) (local.get $o))))
      (f32.store (i32.add (local.get $out) (local.get $o))
        (select
          (f32.mul (local.get $s) (local.get $alpha))
          (local.get $s)
          (f32.lt (local.get $s) (f32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $one)))
  )

  ;; ---------------------------------------------------------------------------------------------
  ;; out = x > 0 ? dy : dy·α (LeakyReLU's gradient, tfjs's where(greater(x, 0), dy, mul(dy, α))): a NaN x
  ;; takes dy·α, as greater(NaN, 0) is false there.
  (func (export "leakyReluGrad") (param $dy i32) (param $x i32) (param $out i32) (param $n i32) (param $alpha f32)
    (local $i i32) (local $end4 i32) (local $o i32) (local $d v128) (local $s f32)
    (local.set $end4 (i32.and (local.get $n) (i32.const -4)))
    (block $done4 (loop $four
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
      (local.set $o (i32.shl (local.get $i) (i32.const 2)))
      (local.set $d (v128.load (i32.add (local.get $dy) (local.get $o))))
      (v128.store (i32.add (local.get $out) (local.get $o))
        (v128.bitselect
          (local.get $d)
          (f32x4.mul (local.get $d) (f32x4.splat (local.get $alpha)))
          (f32x4.gt (v128.load (i32.add (local.get $x) (local.get $o))) (f32x4.splat (f32.const 0)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $four)))
    (block $done (loop $one
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $o (i32.shl (local.get $i) (i32.const 2)))
      (local.set $s (f32.load (i32.add (local.get $dy) (local.get $o))))
      (f32.store (i32.add (local.get $out) (local.get $o))
        (select
          (local.get $s)
          (f32.mul (local.get $s) (local.get $alpha))
          (f32.gt (f32.load (i32.add (local.get $x) (local.get $o))) (f32.const 0))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $one)))
  )

  ;; ---------------------------------------------------------------------------------------------
  ;; out = (1 − y·y)·dy (tanh's gradient from its output y, tfjs's mul(sub(1, square(y)), dy)): each
  ;; operation rounded to float32 in tfjs's order.
  (func (export "tanhGrad") (param $dy i32) (param $y i32) (param $out i32) (param $n i32)
    (local $i i32) (local $end4 i32) (local $o i32) (local $v v128) (local $s f32)
    (local.set $end4 (i32.and (local.get $n) (i32.const -4)))
    (block $done4 (loop $four
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
      (local.set $o (i32.shl (local.get $i) (i32.const 2)))
      (local.set $v (v128.load (i32.add (local.get $y) (local.get $o))))
      (v128.store (i32.add (local.get $out) (local.get $o))
        (f32x4.mul
          (f32x4.sub (f32x4.splat (f32.const 1)) (f32x4.mul (local.get $v) (local.get $v)))
          (v128.load (i32.add (local.get $dy) (local.get $o)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $four)))
    (block $done (loop $one
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $o (i32.shl (local.get $i) (i32.const 2)))
      (local.set $s (f32.load (i32.add (local.get $y) (local.get $o))))
      (f32.store (i32.add (local.get $out) (local.get $o))
        (f32.mul
          (f32.sub (f32.const 1) (f32.mul (local.get $s) (local.get $s)))
          (f32.load (i32.add (local.get $dy) (local.get $o)))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $one)))
  )

  ;; ---------------------------------------------------------------------------------------------
  ;; out = tanh(x), float32: Eigen's (and TensorFlow's CPU) rational approximation — x clamped to
  ;; ±7.90531110763549805, a degree-13 odd numerator over a degree-6 even denominator, x itself where
  ;; |x| < 0.0004 (within 4.1e-7 of the exact value, 7 ulp, at worst). NaN stays NaN, ±0 keeps its sign, ±Infinity gives ±1.
  (func $tanh4 (param $a v128) (result v128)
    (local $x v128) (local $x2 v128) (local $p v128) (local $q v128)
    (local.set $x (f32x4.max (f32x4.min (local.get $a) (f32x4.splat (f32.const 7.90531110763549805)))
      (f32x4.splat (f32.const -7.90531110763549805))))
    (local.set $x2 (f32x4.mul (local.get $x) (local.get $x)))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (f32x4.splat (f32.const -2.76076847742355e-16)))
      (f32x4.splat (f32.const 2.00018790482477e-13))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const -8.60467152213735e-11))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const 5.12229709037114e-08))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const 1.48572235717979e-05))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const 6.37261928875436e-04))))
    (local.set $p (f32x4.add (f32x4.mul (local.get $x2) (local.get $p)) (f32x4.splat (f32.const 4.89352455891786e-03))))
    (local.set $p (f32x4.mul (local.get $x) (local.get $p)))
    (local.set $q (f32x4.add (f32x4.mul (local.get $x2) (f32x4.splat (f32.const 1.19825839466702e-06)))
      (f32x4.splat (f32.const 1.18534705686654e-04))))
    (local.set $q (f32x4.add (f32x4.mul (local.get $x2) (local.get $q)) (f32x4.splat (f32.const 2.26843463243900e-03))))
    (local.set $q (f32x4.add (f32x4.mul (local.get $x2) (local.get $q)) (f32x4.splat (f32.const 4.89352518554385e-03))))
    (v128.bitselect
      (local.get $a)
      (f32x4.div (local.get $p) (local.get $q))
      (f32x4.lt (f32x4.abs (local.get $a)) (f32x4.splat (f32.const 0.0004))))
  )

  (func (export "tanh") (param $x i32) (param $out i32) (param $n i32)
    (local $i i32) (local $end4 i32) (local $o i32)
    (local.set $end4 (i32.and (local.get $n) (i32.const -4)))
    (block $done4 (loop $four
      (br_if $done4 (i32.ge_u (local.get $i) (local.get $end4)))
      (local.set $o (i32.shl (local.get $i) (i32.const 2)))
      (v128.store (i32.add (local.get $out) (local.get $o))
        (call $tanh4 (v128.load (i32.add (local.get $x) (local.get $o)))))
      (local.set $i (i32.add (local.get $i) (i32.const 4)))
      (br $four)))
    (block $done (loop $one
      (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
      (local.set $o (i32.shl (local.get $i) (i32.const 2)))
      (f32.store (i32.add (local.get $out) (local.get $o))
        (f32x4.extract_lane 0 (call $tanh4 (v128.load32_splat (i32.add (local.get $x) (local.get $o))))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $one)))
  )
)

/*
 * Small dense symmetric linear algebra in float64 for the Fréchet distance: tfjs-core has no
 * eigendecomposition. Matrices are row-major Float64Arrays of d × d.
 */

/** Eigenvalues and eigenvectors (columns of `vectors`, row-major) of a symmetric matrix, by cyclic Jacobi rotations. */
export function symmetricEigen(matrix: Float64Array, d: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(d * d);
  for (let i = 0; i < d; i++) v[i * d + i] = 1;
  let scale = 0;
  for (let i = 0; i < d * d; i++) scale += (a[i] as number) ** 2;
  const tolerance = 1e-22 * Math.max(scale, 1e-300);
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < d; p++) for (let q = p + 1; q < d; q++) off += (a[p * d + q] as number) ** 2;
    if (off <= tolerance) break;
    for (let p = 0; p < d; p++) {
      for (let q = p + 1; q < d; q++) {
        const apq = a[p * d + q] as number;
        if (apq === 0) continue;
        const app = a[p * d + p] as number;
        const aqq = a[q * d + q] as number;
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < d; k++) {
          // Rotate rows/columns p and q of a (A ← Jᵀ A J), and the columns of v.
          const akp = a[k * d + p] as number;
          const akq = a[k * d + q] as number;
          a[k * d + p] = c * akp - s * akq;
          a[k * d + q] = s * akp + c * akq;
        }
        for (let k = 0; k < d; k++) {
          const apk = a[p * d + k] as number;
          const aqk = a[q * d + k] as number;
          a[p * d + k] = c * apk - s * aqk;
          a[q * d + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < d; k++) {
          const vkp = v[k * d + p] as number;
          const vkq = v[k * d + q] as number;
          v[k * d + p] = c * vkp - s * vkq;
          v[k * d + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const values = new Float64Array(d);
  for (let i = 0; i < d; i++) values[i] = a[i * d + i] as number;
  return { values, vectors: v };
}

/** The symmetric square root V·diag(√max(λ, 0))·Vᵀ of a symmetric positive semi-definite matrix. */
export function sqrtPsd(matrix: Float64Array, d: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, d);
  const out = new Float64Array(d * d);
  for (let k = 0; k < d; k++) {
    const r = Math.sqrt(Math.max(values[k] as number, 0));
    if (r === 0) continue;
    for (let i = 0; i < d; i++) {
      const vik = (vectors[i * d + k] as number) * r;
      if (vik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] = (out[i * d + j] as number) + vik * (vectors[j * d + k] as number);
    }
  }
  return out;
}

/** Row-major product of two d × d matrices. */
export function matMul(a: Float64Array, b: Float64Array, d: number): Float64Array {
  const out = new Float64Array(d * d);
  for (let i = 0; i < d; i++) {
    for (let k = 0; k < d; k++) {
      const aik = a[i * d + k] as number;
      if (aik === 0) continue;
      for (let j = 0; j < d; j++) out[i * d + j] = (out[i * d + j] as number) + aik * (b[k * d + j] as number);
    }
  }
  return out;
}

/** tr √(A·B) for symmetric PSD A and B, computed as Σ √λ(√A·B·√A), which is symmetric PSD. */
export function traceSqrtProduct(a: Float64Array, b: Float64Array, d: number): number {
  const ra = sqrtPsd(a, d);
  const m = matMul(matMul(ra, b, d), ra, d);
  // Symmetrise away rounding before the eigendecomposition.
  for (let i = 0; i < d; i++)
    for (let j = i + 1; j < d; j++) {
      const s = ((m[i * d + j] as number) + (m[j * d + i] as number)) / 2;
      m[i * d + j] = s;
      m[j * d + i] = s;
    }
  const { values } = symmetricEigen(m, d);
  return values.reduce((s, v) => s + Math.sqrt(Math.max(v, 0)), 0);
}

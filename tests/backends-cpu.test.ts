// Conformance suite on the cpu backend: a second cpu run is the "backend", so the numerical check is
// run-to-run determinism; the finite-difference check of second-order gradients is the real fact here.
import { nodeConformanceSuite } from './conformance/node';

nodeConformanceSuite('cpu');

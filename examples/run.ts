/**
 * Runs an example by name: `npm run example -- <name> [flags]` (see examples/README.md).
 * With no name, lists them.
 */
export {};

const EXAMPLES: Record<string, { file: string; about: string }> = {
  'mnist-mlp': { file: './mnist-mlp/main.ts', about: 'the seed’s MNIST MLP GAN (= npm run demo)' },
  figure1: { file: './figure1-gaussian/main.ts', about: 'the paper’s Figure 1 on a 1-D Gaussian' },
  mixtures: { file: './mixtures-2d/main.ts', about: '2-D ring and grid mixtures: modes covered, high-quality share' },
  dcgan: { file: './dcgan-mnist/main.ts', about: 'DCGAN on MNIST' },
  cgan: { file: './cgan-mnist/main.ts', about: 'conditional GAN on MNIST, one grid row per digit' },
  custom: { file: './custom-model/main.ts', about: 'your own generator, discriminator and loss' },
  'gaussian-1d': { file: './gaussian-1d/main.ts', about: 'a GAN learns N(4, 0.5²) (terminal histogram)' },
};

const requested = process.argv[2];
const entry = requested === undefined ? undefined : EXAMPLES[requested];
if (entry === undefined) {
  if (requested !== undefined) console.error(`unknown example "${requested}"\n`);
  console.log('usage: npm run example -- <name> [flags]\n');
  for (const [n, e] of Object.entries(EXAMPLES)) console.log(`  ${n.padEnd(12)} ${e.about}`);
  process.exit(requested === undefined ? 0 : 2);
}
// The example parses process.argv itself: drop the name.
process.argv.splice(2, 1);
await import(entry.file);

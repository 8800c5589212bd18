/**
 * State that a model's forward pass keeps in JavaScript (not in variables): a custom layer that counts
 * its calls, draws from its own random stream, or caches something. The trainer's non-finite guard
 * undoes everything an update that turned out not finite did; for such state it needs to be told how.
 * A layer calls {@link noteForwardState} with a function that puts its state back as it was before
 * this call; the trainer records those functions while an update's forward and backward passes run
 * and calls them (latest first) when it undoes the update. Outside a recording the note is dropped.
 * The library's {@link SeededDropout} does this for its mask counter.
 *
 * @module
 */

/** The notes of the recording in progress, or undefined. */
let recording: (() => void)[] | undefined;

/**
 * Tells the trainer how to undo a change the current forward pass makes to state kept in JavaScript:
 * `undo` must put that state back as it was before the change (it runs at most once, latest note
 * first). Call it from a layer's `call` (or a model's `apply`) when it changes such state. Costs
 * nothing outside a training update.
 */
export function noteForwardState(undo: () => void): void {
  recording?.push(undo);
}

/**
 * Runs `f` (synchronously) and returns its result; the undo functions noted while it runs are appended
 * to `into` as they are noted (so they are there even when `f` throws). Recordings nest: an inner one
 * keeps its notes to itself.
 */
export function recordForwardState<T>(into: (() => void)[], f: () => T): T {
  const outer = recording;
  recording = into;
  try {
    return f();
  } finally {
    recording = outer;
  }
}

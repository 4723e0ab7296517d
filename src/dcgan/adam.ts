/**
 * Adam (Kingma & Ba) with state we fully control, so a checkpoint restores it
 * bit for bit. (tfjs' own Adam recomputes its beta powers with pow() on
 * setWeights, which differs in the last bits from the running product it
 * keeps while training, so a resumed run would drift from an uninterrupted
 * one.) Bias corrections are computed in float64 on the CPU from the step
 * count, the same way every step whether resumed or not.
 */
import { tf, type Tensor, type NamedTensorMap, type LayersModel } from '../engine/index.js';
import { weightNames } from './models.js';

export interface AdamConfig { learningRate: number; beta1: number; beta2: number; epsilon: number }

export class Adam {
  /** Steps taken so far. */
  step = 0;
  /** First and second moments per trainable weight, by stable weight name. */
  private m = new Map<string, tf.Variable>();
  private v = new Map<string, tf.Variable>();

  private readonly frozen: Set<string>;

  /** `frozen`: stable names of trainable weights that are never updated (their gradients may be absent). */
  constructor(readonly config: AdamConfig, readonly model: LayersModel, frozen: string[] = []) {
    this.frozen = new Set(frozen);
    for (const [i, w] of model.trainableWeights.entries()) {
      const name = weightNames(model, true)[i];
      const zeros = tf.zerosLike(w.read());
      this.m.set(name, tf.variable(zeros, false));
      this.v.set(name, tf.variable(zeros, false));
      zeros.dispose();
    }
  }

  /** Applies gradients keyed by stable weight name (see weightNames). Disposes nothing it is given. */
  apply(grads: NamedTensorMap): void {
    this.step++;
    const { learningRate: lr, beta1, beta2, epsilon } = this.config;
    const c1 = 1 - beta1 ** this.step, c2 = 1 - beta2 ** this.step;
    // Folded step size, as in the paper's "efficient version".
    const alpha = lr * Math.sqrt(c2) / c1;
    const names = weightNames(this.model, true);
    tf.tidy(() => {
      this.model.trainableWeights.forEach((w, i) => {
        if (this.frozen.has(names[i])) return;
        const g = grads[names[i]];
        if (!g) throw new Error(`no gradient for ${names[i]}`);
        const m = this.m.get(names[i])!, v = this.v.get(names[i])!;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        w.write(tf.sub(w.read(), tf.div(tf.mul(m, alpha), tf.add(tf.sqrt(v), epsilon))));
      });
    });
  }

  /** State as named tensors (caller must not dispose them; they are the live variables). */
  stateTensors(): { name: string; tensor: Tensor }[] {
    const out: { name: string; tensor: Tensor }[] = [];
    for (const [name, t] of this.m) out.push({ name: `${name}/m`, tensor: t });
    for (const [name, t] of this.v) out.push({ name: `${name}/v`, tensor: t });
    return out;
  }

  /** Restores moments (by name) and the step count. */
  setState(step: number, tensors: NamedTensorMap): void {
    this.step = step;
    for (const [kind, map] of [['m', this.m], ['v', this.v]] as const) {
      for (const [name, variable] of map) {
        const t = tensors[`${name}/${kind}`];
        if (!t) throw new Error(`optimizer state lacks ${name}/${kind}`);
        variable.assign(t);
      }
    }
  }

  dispose(): void {
    for (const t of [...this.m.values(), ...this.v.values()]) t.dispose();
    this.m.clear(); this.v.clear();
  }
}

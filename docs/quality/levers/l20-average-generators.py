# Throw-away probe (L20): a run folder whose checkpoint N holds the uniform average of the EMA
# generators of the given checkpoints of a source run (post-hoc weight averaging), everything else
# copied from the source's checkpoint N; scored by the quality bench like any run.
import json, os, shutil, sys
import numpy as np
src, dst, target, *its = sys.argv[1], sys.argv[2], int(sys.argv[3]), *map(int, sys.argv[4:])
ck = lambda run, i: os.path.join(run, 'checkpoints', '%08d' % i)
os.makedirs(os.path.join(dst, 'checkpoints'), exist_ok=False)
for f in ('options.json', 'stats.jsonl', 'log.jsonl'):
    shutil.copy(os.path.join(src, f), os.path.join(dst, f))
shutil.copytree(ck(src, target), ck(dst, target))
acc = None
for i in its:
    a = np.fromfile(os.path.join(ck(src, i), 'generator_ema', 'weights.bin'), dtype='<f4').astype(np.float64)
    acc = a if acc is None else acc + a
(acc / len(its)).astype('<f4').tofile(os.path.join(ck(dst, target), 'generator_ema', 'weights.bin'))
print('averaged', its, 'into', ck(dst, target))

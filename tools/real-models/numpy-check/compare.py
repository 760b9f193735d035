# NumPy figures per head from the tensors capture.mjs wrote, compared with inspect's JSON (every key kept: for models without a mask,
# as PaddleOCR's recognisers): python3 compare.py SITES.json INSPECT.json DIR
import sys, json, numpy as np
sites = json.load(open(sys.argv[1])); res = json.load(open(sys.argv[2])); d = sys.argv[3]
T = {n: np.load(f'{d}/t{i}.npy').astype(np.float64) for i, n in enumerate(sites['names'])}
assert len(res['inputs']) == len(sites['sites']), (len(res['inputs']), len(sites['sites']))
worst = {}
for L, s in zip(res['inputs'], sites['sites']):
    X, P, q, kT = T[s['logits']], T[s['probs']], T[s['q']], T[s['kT']]
    B, H, Lq, S = X.shape
    dot = q @ kT  # raw q.k
    rec = s['scale'] * dot
    assert L['heads'] == H and L['headDim'] == q.shape[-1], (L['heads'], H)
    def upd(k, v): worst[k] = max(worst.get(k, 0), v)
    upd('|model logits - numpy scale*q.k|', np.abs(rec - X).max())
    e = np.exp(X - X.max(-1, keepdims=True)); Pn = e / e.sum(-1, keepdims=True)
    upd('|model softmax - numpy softmax|', np.abs(Pn - P).max())
    upd('|scale: scaledot - numpy|', abs(L['scale'] - s['scale']))
    for h in range(H):
        got = [r for r in res['heads'] if r['layer'] == L['layer'] and r['head'] == h][0]
        p = P[:, h].reshape(-1, S); x = X[:, h]
        ent = -(p * np.log(np.where(p > 0, p, 1))).sum(-1) / np.log(S)
        km = p.mean(0); top = int(km.argmax())
        s2 = (p**2).sum(-1); s3 = (p**3).sum(-1); jac = np.sqrt(s2 - 2*s3 + s2*s2)
        exp = dict(logitStd=x.std(), logitMax=x.max(), entropyRatioMean=ent.mean(), maxProbMean=p.max(-1).mean(), saturatedShare=(p.max(-1) > 0.99).mean(),
                   firstKeyMass=p[:, 0].mean(), jacobianNormMedian=np.median(jac), topKeyMass=km[top])
        gv = dict(got); gv['topKeyMass'] = got['topKey']['mass']
        for k, v in exp.items(): upd(k, abs(gv[k] - v) / max(1, abs(v)))
        assert got['topKey']['position'] == top, (got['topKey'], top)
        upd('fp16.scoreMaxAbs', abs(got['fp16']['scoreMaxAbs'] - np.abs(dot[:, h]).max()) / np.abs(dot[:, h]).max())
        upd('whatIf.rsqrt.logitStd', abs(got['whatIf']['rsqrt']['logitStd'] - (dot[:, h] / np.sqrt(q.shape[-1])).std()))
print(f"{len(res['inputs'])} layers, {len(res['heads'])} heads; largest differences:")
for k, v in worst.items(): print(f'  {k}: {v:.2e}')

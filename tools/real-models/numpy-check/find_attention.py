# Finds Softmax(MatMul(q·s, kᵀ)) → MatMul(·, v) with the onnx package alone (no code shared with src/inspect) and adds
# the score operands, the logits and the weights as graph outputs: python3 find_attention.py MODEL OUT.onnx SITES.json
import sys, json, onnx
from onnx import numpy_helper
m = onnx.load(sys.argv[1]); g = m.graph
prod = {o: n for n in g.node for o in n.output}
cons = {}
for n in g.node:
    for i in n.input: cons.setdefault(i, []).append(n)
consts = {t.name: numpy_helper.to_array(t) for t in g.initializer}
for n in g.node:
    if n.op_type == 'Constant': consts[n.output[0]] = numpy_helper.to_array(n.attribute[0].t)
sites = []
for n in g.node:
    if n.op_type != 'Softmax': continue
    p = prod.get(n.input[0]); post = 1.0
    if p is not None and p.op_type == 'Mul' and any(i in consts and consts[i].size == 1 for i in p.input):  # scale on the scores
        post = float([consts[i] for i in p.input if i in consts][0].reshape(())); p = prod.get([i for i in p.input if i not in consts][0])
    if p is None or p.op_type != 'MatMul': continue
    after = cons.get(n.output[0], [])
    after = after + [c2 for c in after if c.op_type == 'Identity' for c2 in cons.get(c.output[0], [])]  # dropout exported as Identity
    if not any(c.op_type == 'MatMul' and c.input[0] in (n.output[0], *[i.output[0] for i in after if i.op_type == 'Identity']) for c in after): continue
    q, kT = p.input
    qp = prod.get(q); scale = 1.0; qraw = q
    if qp is not None and qp.op_type == 'Add' and any(i in consts and consts[i].size == 1 and float(consts[i].reshape(())) == 0 for i in qp.input):
        qp = prod.get([i for i in qp.input if i not in consts][0])  # paddle's scale op: x*s + 0
    if qp is not None and qp.op_type == 'Mul':
        for a, b in (qp.input, qp.input[::-1]):
            if b in consts and consts[b].size == 1: scale = float(consts[b].reshape(())); qraw = a
    sites.append(dict(softmax=n.name, logits=n.input[0], probs=n.output[0], q=qraw, kT=kT, scale=scale * post))
names = sorted({s[k] for s in sites for k in ('logits', 'probs', 'q', 'kT')})
have = {o.name for o in g.output}
for x in names:
    if x not in have: g.output.append(onnx.helper.make_empty_tensor_value_info(x))
onnx.save(m, sys.argv[2])
json.dump(dict(sites=sites, names=names), open(sys.argv[3], 'w'))

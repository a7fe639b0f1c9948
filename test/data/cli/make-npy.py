# Writes the small .npy fixtures of test/cli-readers.test.ts with real NumPy (run: python3 make-npy.py).
# The values are simple formulas so the tests can recompute them.
import numpy as np
from numpy.lib import format as npformat

rows = np.array([[r * 10 + c + 0.5 for c in range(3)] for r in range(5)])
np.save('f32.npy', rows.astype('<f4'))
np.save('f64.npy', rows.astype('<f8'))
np.save('f32-big-endian.npy', rows.astype('>f4'))
np.save('fortran.npy', np.asfortranarray(rows.astype('<f4')))
np.save('int64.npy', rows.astype('<i8'))
np.save('vector-1d.npy', rows[0].astype('<f4'))
with open('v2.npy', 'wb') as f:
    npformat.write_array(f, rows.astype('<f4'), version=(2, 0))
bad = rows.astype('<f4')
bad[3, 1] = np.nan
np.save('nan.npy', bad)

import { containsEicar } from '../../../local/scanner';

// Built from parts, as in test/e2e/files-scan.test.ts: no literal copy in the repository.
const EICAR = ['X5O!P%@AP[4\\PZX54(P^)7CC)7}$', 'EICAR-STANDARD-ANTIVIRUS', '-TEST-FILE!$H+H*'].join('');

async function* chunks(...parts: string[]) {
  for (const p of parts) yield Buffer.from(p);
}

test('the stand-in scanner finds the EICAR string split across chunks, and not in a near miss', async () => {
  expect(await containsEicar(chunks('a'.repeat(1000), EICAR.slice(0, 30), EICAR.slice(30), 'tail'))).toBe(true);
  expect(await containsEicar(chunks(...EICAR.split('')))).toBe(true);
  expect(await containsEicar(chunks(EICAR.slice(0, -1), 'x', EICAR.slice(1)))).toBe(false);
  expect(await containsEicar(chunks())).toBe(false);
});

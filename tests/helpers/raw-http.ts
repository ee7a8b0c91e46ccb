import net from 'node:net';

/** One request written on a socket as given (what a client library would refuse to send); the raw answer, read until the server closes. */
export function rawRequest(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let answer = '';
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

/** A header's value in a raw answer (its name matched in any case), undefined without it. */
export const headerOf = (answer: string, name: string) =>
  answer
    .split('\r\n\r\n')[0]
    .split('\r\n')
    .find((line) => line.toLowerCase().startsWith(`${name}:`))
    ?.slice(name.length + 1)
    .trim();

// `<config-watcher PATH ENV>` as a service (spec §2.1): supervised, policy always; `ready` once
// its initial scan has run.
import { Dictionary, peel } from '../../preserves/index.ts';
import { P, type Ref } from '../../bus/index.ts';
import { startConfigWatcher } from '../../config-lang/config-watcher.ts';
import { envFromDictionary } from '../../config-lang/environment.ts';
import { Service } from '../supervision/service-protocol.ts';
import type { ServiceKind } from '../supervision/service-listener.ts';

/**
 * The config-watcher service kind, publishing its states into `config`; `resolvePath` maps the
 * path named in the service record to the one watched (`--root`).
 */
export function configWatcherService(config: Ref, resolvePath: (p: string) => string = (p) => p): ServiceKind {
  return {
    kind: 'config-watcher',
    pattern: P.bind(P.rec('config-watcher', P.bind(), P.bind())),
    policy: 'always',
    boot(t, name, [, path, env]) {
      const p = peel(path);
      const e = peel(env);
      if (typeof p !== 'string') throw new Error('config-watcher: PATH must be a string');
      if (!(e instanceof Dictionary)) throw new Error('config-watcher: ENV must be a dictionary');
      startConfigWatcher(t, resolvePath(p), envFromDictionary(e as Dictionary<Ref>), {
        onReady: (t) => void t.assert(config, Service.state(name, 'ready')),
      });
    },
  };
}

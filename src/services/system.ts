// The system the server runs (spec §0): config and log dataspaces, the logger, the dependency
// tracker and the built-in service listeners, all in one top-level actor.
import path from 'node:path';
import { Embedded, Dictionary, Record, sym } from '../preserves/index.ts';
import { Actor, Dataspace, type Assertion, type Ref, type Turn } from '../bus/index.ts';
import { configWatcherService } from './config-watcher-service.ts';
import { trackDependencies } from './dependency-tracker.ts';
import { startLogger } from './logger.ts';
import { startStateClock } from './state-clock.ts';
import { startControlStore } from './control-store.ts';
import { startConfigWatcher } from '../config-lang/config-watcher.ts';
import { envFromDictionary } from '../config-lang/environment.ts';
import { Service } from './service-protocol.ts';
import { serviceListener, type ServiceKind } from './service-listener.ts';

/** The handles of a running system. */
export interface System {
  readonly actor: Actor;
  readonly config: Ref;
  readonly log: Ref;
  /** The config dataspace entity itself (for inspection). */
  readonly configSpace: Dataspace;
}

/** What to start. */
export interface SystemOptions {
  /** Config paths to watch (`-c`), each as `<run-service <config-watcher PATH ENV>>`. */
  readonly configPaths?: readonly string[];
  /** Where log lines go (default stderr). */
  readonly writeLog?: (line: string) => void;
  /** More service kinds (daemons, listeners) given the config and log refs. */
  readonly services?: (config: Ref, log: Ref) => ServiceKind[];
  /** A root prefix under which absolute paths of the configuration resolve (`--root`). */
  readonly rootDir?: string;
  /** Where operator assertions (syndicate-ctl start/stop/assert) are kept and watched from. */
  readonly controlDir?: string;
  /** Called in the boot turn, with everything in place. */
  readonly onBoot?: (t: Turn, system: System) => void;
}

/** The environment scripts get: `{config: #:…, log: #:…}` and any extras. */
export function scriptEnvironment(config: Ref, log: Ref): Dictionary<Ref> {
  const env = new Dictionary<Ref>();
  env.set(sym('config'), new Embedded<Ref>(config));
  env.set(sym('log'), new Embedded<Ref>(log));
  return env;
}

/** An absolute path moved under `rootDir` (when given); relative paths are left alone. */
export function underRoot(rootDir: string | undefined, p: string): string {
  return rootDir === undefined || !path.isAbsolute(p) ? p : path.join(rootDir, p);
}

/** The record naming a config watcher service. */
export function configWatcherName(path: string, env: Dictionary<Ref>): Assertion {
  return new Record<Ref>(sym('config-watcher'), [path, env]);
}

/** Boots the system actor; its refs are usable at once, its services start in its first turn. */
export function startSystem(options: SystemOptions = {}): System {
  const configSpace = new Dataspace('config');
  const actor = new Actor('syndicate-server');
  const config: Ref = { relay: actor.root, target: configSpace };
  const log: Ref = { relay: actor.root, target: new Dataspace('log') };
  const system: System = { actor, config, log, configSpace };
  actor.root.turn((t) => {
    startLogger(t, log, options.writeLog);
    trackDependencies(t, config);
    startStateClock(t, config);
    for (const kind of [configWatcherService(config, (p) => underRoot(options.rootDir, p)), ...(options.services?.(config, log) ?? [])]) {
      serviceListener(t, config, kind);
    }
    if (options.controlDir !== undefined) {
      // Watched directly, not as a service: it is the bus's own state, never under --root.
      const dir = options.controlDir;
      startControlStore(t, config, dir);
      t.facet((t) => startConfigWatcher(t, dir, envFromDictionary(scriptEnvironment(config, log))));
    }
    for (const p of options.configPaths ?? []) {
      t.assert(config, Service.run(configWatcherName(p, scriptEnvironment(config, log))));
    }
    options.onBoot?.(t, system);
  });
  return system;
}

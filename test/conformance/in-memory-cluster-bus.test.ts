import { InMemoryClusterBus, InMemoryClusterHub } from 'chat-room';
import { clusterBusSuite } from 'chat-room/testing';

clusterBusSuite(
  'InMemoryClusterBus',
  async () => {
    const hub = new InMemoryClusterHub();
    const node = (nodeId: string): InMemoryClusterBus => new InMemoryClusterBus({ hub, nodeId });
    return {
      nodes: [node('a'), node('b'), node('c')],
      injectRaw: async (channel, raw) => hub.injectRaw(channel, raw),
      outage: { down: async () => hub.down(), up: async () => hub.up() },
    };
  },
  { outage: true },
);

describe('InMemoryClusterHub', () => {
  test('refuses two nodes with one id', () => {
    const hub = new InMemoryClusterHub();
    new InMemoryClusterBus({ hub, nodeId: 'a' });
    expect(() => new InMemoryClusterBus({ hub, nodeId: 'a' })).toThrow(/already/);
  });
});

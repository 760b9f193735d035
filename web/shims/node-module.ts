/**
 * The browser stand-in for `node:module`. The library reads one data set (the
 * names task's word lists) from node_modules through createRequire; in a
 * browser there is no node_modules, so that one function says so when called
 * instead of the whole bundle failing when it loads.
 */
export function createRequire(_from: string | URL): (id: string) => never {
  return (id: string) => {
    throw new Error(`require(${JSON.stringify(id)}): reading packages from node_modules is not possible in a browser`);
  };
}

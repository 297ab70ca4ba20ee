// The release every Weft binary reports (`weft version`, the proxy's
// /proxy-config/bootstrap). Kept equal to package.json's version by a test,
// since the built dist/ does not ship package.json beside the code.
export const WEFT_VERSION = "0.1.0";

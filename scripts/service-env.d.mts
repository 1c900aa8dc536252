export declare const jemallocPaths: string[];
export declare function serviceEnv(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;

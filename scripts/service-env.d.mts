export declare const jemallocPaths: string[];
export declare const jemallocConf: string;
export declare function serviceEnv(base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;

// English and Chinese. The browser's language picks one; the switch in the header remembers a choice.
const en = {
  launch: 'Launch model', running: 'Running models', register: 'Register model', cluster: 'Cluster',
  llm: 'Language models', embedding: 'Embedding', rerank: 'Rerank', audio: 'Audio', custom: 'Custom',
  search: 'Search models', ability: 'Ability', language: 'Language', all: 'All', launchIt: 'Launch',
  cancel: 'Cancel', close: 'Close', uid: 'Model UID (optional)', format: 'Format', size: 'Size (billions)',
  quantization: 'Quantization', modelPath: 'Model path (optional)', replica: 'Replicas', nGpu: 'GPUs',
  cpu: 'CPU only', auto: 'Auto', gpuIdx: 'GPU indexes', noGpus: 'No GPUs on this machine', free: 'free', requestLimits: 'Request limits', keepAlive: 'Keep alive (e.g. 5m, -1)',
  engineOptions: 'Engine options (JSON)', downloadHub: 'Download hub', copyCli: 'Copy as CLI', copyCurl: 'Copy as curl',
  launching: 'Launching', ready: 'Ready', failed: 'Failed', noModels: 'No models here yet.',
  name: 'Name', type: 'Type', status: 'Status', replicas: 'Replicas', requests: 'Requests', actions: 'Actions',
  tryIt: 'Try it', terminate: 'Terminate', confirmTerminate: 'Terminate this model?', systemPrompt: 'System prompt',
  temperature: 'Temperature', maxTokens: 'Max tokens', send: 'Send', stop: 'Stop', typeMessage: 'Type a message…',
  tokens: 'tokens', tokensPerSecond: 'tokens/s', texts: 'Texts, one per line', embed: 'Embed', similarity: 'Similarity',
  query: 'Query', documents: 'Documents, one per line', rank: 'Rank', score: 'Score', upload: 'Audio file',
  transcribe: 'Transcribe', record: 'Record', stopRecording: 'Stop recording', text: 'Text', voice: 'Voice', speed: 'Speed',
  speak: 'Speak', download: 'Download', registered: 'Custom registrations', registerJson: 'Specification (JSON)',
  doRegister: 'Register', unregister: 'Unregister', machine: 'This machine', clusterNodes: 'Cluster nodes', placementLeader: 'Places replicas', cores: 'CPU cores', memory: 'Memory',
  gpus: 'GPUs', none: 'none', reservations: 'Reservations', events: 'Events', logs: 'Logs', dark: 'Dark', light: 'Light',
  progress: 'Progress', left: 'left', refresh: 'Refresh', clear: 'Clear',
  monitor: 'Monitor', inFlight: 'In flight', queued: 'Queued', rejected: 'Rejected (429) per 2 s',
  requestsPerSecond: 'Requests/s', tokensRate: 'Tokens/s', ttft: 'Time to first token (ms)',
  login: 'Log in', logout: 'Log out', username: 'User name', password: 'Password', apiKey: 'or an API key (sk-…)',
  loginNeeded: 'This xinfer requires authentication.',
};
export type Key = keyof typeof en;
const zh: Record<Key, string> = {
  launch: '启动模型', running: '运行中的模型', register: '注册模型', cluster: '集群',
  llm: '语言模型', embedding: '嵌入模型', rerank: '重排序模型', audio: '音频模型', custom: '自定义',
  search: '搜索模型', ability: '能力', language: '语言', all: '全部', launchIt: '启动',
  cancel: '取消', close: '关闭', uid: '模型 UID（可选）', format: '格式', size: '规模（十亿参数）',
  quantization: '量化', modelPath: '模型路径（可选）', replica: '副本数', nGpu: 'GPU',
  cpu: '仅 CPU', auto: '自动', gpuIdx: 'GPU 编号', noGpus: '本机没有 GPU', free: '可用', requestLimits: '并发请求上限', keepAlive: '空闲保留（如 5m、-1）',
  engineOptions: '引擎参数（JSON）', downloadHub: '下载源', copyCli: '复制为命令行', copyCurl: '复制为 curl',
  launching: '启动中', ready: '就绪', failed: '失败', noModels: '这里还没有模型。',
  name: '名称', type: '类型', status: '状态', replicas: '副本', requests: '请求', actions: '操作',
  tryIt: '试用', terminate: '终止', confirmTerminate: '确定终止该模型？', systemPrompt: '系统提示词',
  temperature: '温度', maxTokens: '最大 token 数', send: '发送', stop: '停止', typeMessage: '输入消息…',
  tokens: 'token', tokensPerSecond: 'token/秒', texts: '文本，每行一条', embed: '生成向量', similarity: '相似度',
  query: '查询', documents: '文档，每行一条', rank: '排序', score: '分数', upload: '音频文件',
  transcribe: '转写', record: '录音', stopRecording: '停止录音', text: '文本', voice: '音色', speed: '语速',
  speak: '合成', download: '下载', registered: '自定义注册', registerJson: '模型规格（JSON）',
  doRegister: '注册', unregister: '取消注册', machine: '本机', clusterNodes: '集群节点', placementLeader: '负责副本调度', cores: 'CPU 核心', memory: '内存',
  gpus: 'GPU', none: '无', reservations: '资源占用', events: '事件', logs: '日志', dark: '深色', light: '浅色',
  progress: '进度', left: '剩余', refresh: '刷新', clear: '清空',
  monitor: '监控', inFlight: '处理中', queued: '排队中', rejected: '拒绝（429）/2 秒',
  requestsPerSecond: '请求/秒', tokensRate: 'token/秒', ttft: '首 token 时间（毫秒）',
  login: '登录', logout: '退出登录', username: '用户名', password: '密码', apiKey: '或 API 密钥（sk-…）',
  loginNeeded: '此 xinfer 需要身份验证。',
};
const dictionaries = { en, zh };
export type Lang = keyof typeof dictionaries;

function initial(): Lang {
  const saved = localStorage.getItem('xinfer.lang');
  if (saved === 'en' || saved === 'zh') return saved;
  return navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en';
}
let current: Lang = initial();
export const lang = () => current;
export function setLang(l: Lang) {
  current = l;
  localStorage.setItem('xinfer.lang', l);
  document.documentElement.lang = l === 'zh' ? 'zh-CN' : 'en';
}
export const t = (k: Key) => dictionaries[current][k];

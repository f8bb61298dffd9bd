"""The supervisor console's words in Chinese (default) and English; `t(key, **fields)`.

States, durations and error replies are shared with the window client (staff_tui.i18n);
these are the console's own, or its way of saying a shared one.
"""

from __future__ import annotations

from staff_tui import i18n as shared
from staff_tui.i18n import Language, Strings, language, set_language

__all__ = ["STRINGS", "Language", "duration", "language", "set_language", "t"]

STRINGS: Strings = {
    "app.title": {"zh": "一窗 · 值班管理台", "en": "Yichuang · supervisor console"},
    # login
    "login.heading": {"zh": "值班主任 / 管理员登录", "en": "Supervisor / administrator login"},
    "login.server": {"zh": "服务器地址", "en": "Server address"},
    "login.account": {"zh": "账号", "en": "Account"},
    "login.password": {"zh": "密码", "en": "Password"},
    "login.submit": {"zh": "登录", "en": "Log in"},
    "login.connecting": {"zh": "正在连接 {url} …", "en": "Connecting to {url} …"},
    "login.need_all": {
        "zh": "请填写服务器地址、账号和密码",
        "en": "Fill in the server, account and password",
    },
    "login.bad_address": {
        "zh": "服务器地址无效：{url}（应为 ws://主机:端口 或 wss://主机:端口）",
        "en": "Invalid server address: {url} (expected ws://host:port or wss://host:port)",
    },
    "login.unreachable": {
        "zh": "无法连接服务器 {url}：请检查地址和网络",
        "en": "Cannot reach the server at {url}: check the address and the network",
    },
    "login.not_supervisor": {
        "zh": "该账号不是值班主任或管理员，不能打开管理台",
        "en": "This account is not a supervisor or administrator: it cannot open the console",
    },
    "login.stopped": {"zh": "连接已终止：{detail}", "en": "The connection ended: {detail}"},
    # the hall screen
    "hall.who": {"zh": "{name}（{account}）", "en": "{name} ({account})"},
    "hall.notice": {"zh": "通知：{notice}", "en": "Notice: {notice}"},
    "hall.no_notice": {"zh": "通知：（无）", "en": "Notice: (none)"},
    "hall.closed_now": {"zh": "（非办理时间）", "en": "(closed now)"},
    "hall.windows": {"zh": "窗口", "en": "Windows"},
    "hall.queues": {"zh": "排队", "en": "Queues"},
    "hall.calls": {"zh": "最近呼叫", "en": "Recent calls"},
    "hall.summary": {
        "zh": "开放 {open} 个窗口 · 离线 {offline} · 等候 {waiting} 人",
        "en": "{open} windows open · {offline} offline · {waiting} waiting",
    },
    "col.number": {"zh": "号", "en": "No."},
    "col.name": {"zh": "窗口名称", "en": "Window"},
    "col.zone": {"zh": "区域", "en": "Zone"},
    "col.profile": {"zh": "业务", "en": "Profile"},
    "col.state": {"zh": "状态", "en": "State"},
    "col.staff": {"zh": "工作人员", "en": "Staff"},
    "col.ticket": {"zh": "当前票", "en": "Ticket"},
    "col.in_state": {"zh": "时长", "en": "For"},
    "col.served": {"zh": "今日办结", "en": "Served"},
    "col.mean": {"zh": "平均办理", "en": "Mean"},
    "col.category": {"zh": "类别", "en": "Category"},
    "col.waiting": {"zh": "等候", "en": "Waiting"},
    "col.longest": {"zh": "最长等候", "en": "Longest"},
    "col.estimate": {"zh": "预计等候", "en": "Est. wait"},
    "col.target": {"zh": "目标", "en": "Target"},
    "col.trend": {"zh": "近一小时", "en": "Last hour"},
    "col.time": {"zh": "时间", "en": "Time"},
    "col.window": {"zh": "窗口", "en": "Window"},
    "profile.all": {"zh": "全科", "en": "All"},
    "state.paused_why": {"zh": "暂停：{reason}", "en": "Paused: {reason}"},
    "call.recall": {"zh": "（重呼）", "en": " (recall)"},
    "none": {"zh": "—", "en": "—"},
    # keys
    "keys": {
        "zh": "C 关闭窗口  P 暂停/恢复  F 改业务  N 指定叫号  T 转移  X 作废票  M 通知  "
        "Ctrl+Q 退出",
        "en": "C close  P pause/resume  F profile  N call a ticket  T transfer  X void  "
        "M notice  Ctrl+Q quit",
    },
    "help.quit_title": {"zh": "要退出吗？", "en": "Quit?"},
    "help.quit": {"zh": "按 Ctrl+Q 退出管理台", "en": "Press Ctrl+Q to quit the console"},
    # dialogs
    "act.ok": {"zh": "确定", "en": "OK"},
    "act.cancel": {"zh": "取消", "en": "Cancel"},
    "pick.window": {"zh": "请先在窗口表中选中一个窗口", "en": "Select a window in the table first"},
    "close.question": {
        "zh": "关闭 {number}号窗口（{name}）？正在呼叫或办理的票将回到队列原位。",
        "en": "Close window {number} ({name})? A ticket called or served there goes back to "
        "its place in the queue.",
    },
    "close.already": {"zh": "{number}号窗口已关闭", "en": "Window {number} is already closed"},
    "pause.heading": {
        "zh": "暂停 {number}号窗口（{name}）",
        "en": "Pause window {number} ({name})",
    },
    "pause.reason": {"zh": "暂停原因", "en": "Reason"},
    "pause.closed": {
        "zh": "{number}号窗口未开放，不能暂停",
        "en": "Window {number} is not open: nothing to pause",
    },
    "reason.needed": {"zh": "请填写原因", "en": "Give a reason"},
    "profile.heading": {
        "zh": "{number}号窗口（{name}）办理的业务",
        "en": "What window {number} ({name}) serves",
    },
    "profile.codes": {
        "zh": "类别代码，按办理顺序，用空格分隔；留空为全科",
        "en": "Category codes in the order served, separated by spaces; empty = all",
    },
    "profile.unknown": {"zh": "没有业务类别：{codes}", "en": "No such category: {codes}"},
    "profile.twice": {"zh": "类别重复：{codes}", "en": "Given twice: {codes}"},
    "callticket.heading": {
        "zh": "叫号到 {number}号窗口（{name}）",
        "en": "Call a ticket to window {number} ({name})",
    },
    "ticket.number": {"zh": "票号，如 A005", "en": "Ticket number, e.g. A005"},
    "ticket.need_number": {"zh": "请输入票号", "en": "Enter a ticket number"},
    "callticket.busy": {
        "zh": "{number}号窗口正在呼叫或办理，不能再叫号",
        "en": "Window {number} is calling or serving: it cannot take another call",
    },
    "cancel.heading": {"zh": "作废等候中的票", "en": "Void a waiting ticket"},
    "cancel.question": {
        "zh": "作废 {number}？作废后不能恢复，群众需重新取号。",
        "en": "Void {number}? This cannot be undone: the citizen would need a new ticket.",
    },
    "transfer.heading": {
        "zh": "转移 {number}号窗口的 {ticket}",
        "en": "Transfer {ticket} from window {number}",
    },
    "transfer.none": {
        "zh": "{number}号窗口当前没有呼叫或办理中的票",
        "en": "Window {number} has no ticket called or being served",
    },
    "transfer.not_serving": {
        "zh": "{number}号窗口的 {ticket} 尚未开始办理：只能转移办理中的票",
        "en": "{ticket} at window {number} is not being served yet: only a ticket in service "
        "can be transferred",
    },
    "transfer.to_category": {"zh": "转到业务类别", "en": "To a category"},
    "transfer.to_window": {"zh": "或转到窗口号", "en": "Or to window number"},
    "transfer.reason": {"zh": "转移原因", "en": "Reason"},
    "transfer.need_target": {"zh": "请选择目标类别或窗口", "en": "Choose a category or window"},
    "transfer.bad_window": {"zh": "没有 {window}号窗口", "en": "There is no window {window}"},
    "notice.heading": {
        "zh": "大厅通知（显示在叫号屏上）",
        "en": "The hall's notice (call screens)",
    },
    "notice.text": {"zh": "通知内容，留空为不显示", "en": "Notice text; empty shows none"},
    "notice.too_long": {"zh": "通知最多 500 字", "en": "A notice is at most 500 characters"},
    # outcomes
    "done.closed": {"zh": "{number}号窗口已关闭", "en": "Window {number} closed"},
    "done.paused": {"zh": "{number}号窗口已暂停", "en": "Window {number} paused"},
    "done.resumed": {"zh": "{number}号窗口已恢复服务", "en": "Window {number} resumed"},
    "done.profile": {"zh": "{number}号窗口业务已更改", "en": "Window {number}: profile changed"},
    "done.called": {
        "zh": "已叫 {ticket} 到 {number}号窗口",
        "en": "Called {ticket} to window {number}",
    },
    "done.transferred": {"zh": "{ticket} 已转移", "en": "{ticket} transferred"},
    "done.cancelled": {"zh": "{ticket} 已作废", "en": "{ticket} voided"},
    "done.notice": {"zh": "通知已更新", "en": "Notice updated"},
    "error.offline": {
        "zh": "连接中断：重新连接后再操作",
        "en": "Offline: act again once reconnected",
    },
    "conn.back": {"zh": "已重新连接，大厅状态已更新", "en": "Reconnected; the hall is up to date"},
    # the console's way of saying shared refusals
    "error.title": {"zh": "服务器拒绝了操作", "en": "The server refused"},
    "error.forbidden": {
        "zh": "您的账号无权进行此操作",
        "en": "Your account may not do that",
    },
    "error.version_mismatch": {
        "zh": "管理台与服务器的协议版本不符，请更新管理台",
        "en": "The console and the server speak different protocol versions: update the console",
    },
    "error.not_for_window": {
        "zh": "{ticket} 不属于该窗口办理的业务",
        "en": "{ticket} is not served at that window",
    },
}

t = shared.Words(STRINGS)


def duration(seconds: float, *, short: bool = False) -> str:
    """A duration in words in the console's language (staff_tui.i18n.duration)."""
    return shared.duration(seconds, t, short=short)

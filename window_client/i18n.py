"""The window client's words in Chinese (default) and English; `t(key, **fields)` formats one.

The words it shares with the other staff programs (states, durations, error replies) are in
staff_tui.i18n; those here are the desk's own, or the desk's way of saying a shared one.
"""

from __future__ import annotations

from staff_tui import i18n as shared
from staff_tui.i18n import Language, Strings, language, set_language

__all__ = ["STRINGS", "Language", "duration", "language", "set_language", "t"]

STRINGS: Strings = {
    "app.title": {"zh": "一窗 · 窗口工作台", "en": "Yichuang · window desk"},
    # login
    "login.heading": {"zh": "窗口登录", "en": "Window login"},
    "login.window": {"zh": "窗口号", "en": "Window number"},
    "login.account": {"zh": "工作人员账号", "en": "Staff account"},
    "login.need_all": {
        "zh": "请填写服务器地址、窗口号、账号和密码",
        "en": "Fill in the server, window number, account and password",
    },
    "login.bad_window": {"zh": "窗口号须为 1–9999 的数字", "en": "A window number is 1–9999"},
    "login.logged_out": {"zh": "已关闭窗口并退出登录", "en": "Window closed, logged out"},
    # the window closed by the hall, not by this desk (window_changed reason)
    "closed.day_closed": {
        "zh": "今日已结束办理，窗口已关闭",
        "en": "The hall's day is over: the window has been closed",
    },
    "closed.offline": {
        "zh": "窗口离线时间过长，已被关闭，请重新登录",
        "en": "The window was offline too long and has been closed; log in again",
    },
    "closed.closed_by_supervisor": {
        "zh": "值班主任已关闭本窗口",
        "en": "A supervisor has closed this window",
    },
    "closed.moved": {
        "zh": "该账号已在其他窗口登录，本窗口已关闭",
        "en": "This account logged in at another window, so this one was closed",
    },
    "closed.other": {
        "zh": "窗口已被关闭（{reason}）",
        "en": "The window has been closed ({reason})",
    },
    "closed.while_offline": {
        "zh": "连接中断期间窗口曾被关闭（{why}），重新连接后已重新打开",
        "en": "While offline the window was closed ({why}); it is open again since reconnecting",
    },
    "closed.why.day_closed": {"zh": "今日办理结束", "en": "the day was closed"},
    "closed.why.offline": {"zh": "离线过久", "en": "offline too long"},
    "closed.why.closed_by_supervisor": {"zh": "值班主任关闭", "en": "by a supervisor"},
    "closed.why.moved": {"zh": "该账号在其他窗口登录", "en": "the account logged in elsewhere"},
    "conn.waiting": {
        "zh": "⏳ 等待服务器：{action} {s} 秒",
        "en": "⏳ Waiting for the server: {action} {s} s",
    },
    # work screen
    "work.window": {"zh": "{name}（{number}号窗口）", "en": "{name} (window {number})"},
    "work.staff": {"zh": "工作人员：{name}", "en": "Staff: {name}"},
    "work.no_ticket": {"zh": "当前无票", "en": "No ticket"},
    "work.paused": {"zh": "窗口暂停：{reason}", "en": "Window paused: {reason}"},
    "work.hint_idle": {"zh": "按 N 呼叫下一位", "en": "Press N to call the next ticket"},
    "ticket.category": {"zh": "业务类别", "en": "Category"},
    "ticket.item": {"zh": "办理事项", "en": "Service item"},
    "ticket.waited": {"zh": "已等候", "en": "Waited"},
    "ticket.since_called": {"zh": "呼叫后", "en": "Since called"},
    "ticket.serving_for": {"zh": "已办理", "en": "Serving for"},
    "ticket.recalls": {"zh": "重呼次数", "en": "Recalls"},
    "ticket.transfers": {"zh": "转移记录", "en": "Transfers"},
    "ticket.transfer_line": {
        "zh": "{at} {src} → {dst}：{reason}",
        "en": "{at} {src} → {dst}: {reason}",
    },
    "ticket.window_n": {"zh": "{n}号窗口", "en": "window {n}"},
    "ticket.chain": {
        "zh": "一链办理 第{index}/{steps}步：{step}",
        "en": "One-chain step {index} of {steps}: {step}",
    },
    "ticket.next_step": {"zh": "下一步", "en": "Next step"},
    "ticket.last_step": {"zh": "最后一步", "en": "last step"},
    "ticket.none": {"zh": "—", "en": "—"},
    # queue panel
    "queue.heading": {"zh": "本窗口排队情况", "en": "Queue for this window"},
    "queue.category": {"zh": "类别", "en": "Category"},
    "queue.waiting": {"zh": "等候", "en": "Wait"},
    "queue.longest": {"zh": "最长等候", "en": "Longest"},
    "queue.target": {"zh": "目标", "en": "Target"},
    "today.heading": {"zh": "今日本窗口", "en": "Today at this window"},
    "today.served": {"zh": "已办结 {n}", "en": "Served {n}"},
    "today.no_shows": {"zh": "过号 {n}", "en": "No-shows {n}"},
    "today.mean": {"zh": "平均办理 {t}", "en": "Mean {t}"},
    # actions
    "act.call_next": {"zh": "叫号", "en": "Next"},
    "act.recall": {"zh": "重呼", "en": "Recall"},
    "act.start": {"zh": "开始办理", "en": "Start"},
    "act.finish": {"zh": "办结", "en": "Finish"},
    "act.no_show": {"zh": "过号", "en": "No-show"},
    "act.transfer": {"zh": "转移", "en": "Transfer"},
    "act.call_number": {"zh": "指定叫号", "en": "Call no."},
    "act.reinstate": {"zh": "恢复过号", "en": "Restore"},
    "act.pause": {"zh": "暂停", "en": "Pause"},
    "act.resume": {"zh": "恢复服务", "en": "Resume"},
    "act.close": {"zh": "关窗退出", "en": "Close"},
    "act.end_chain": {"zh": "结束一链", "en": "End all"},
    "act.cancel_ticket": {"zh": "作废", "en": "Void"},
    "confirm.no_show": {
        "zh": "将 {number} 标记为过号？",
        "en": "Mark {number} as a no-show?",
    },
    "confirm.cancel_ticket": {
        "zh": "作废 {number}？作废后不能恢复，群众需重新取号。",
        "en": "Void {number}? This cannot be undone: the citizen would need a new ticket.",
    },
    "confirm.cancel_ticket_yes": {"zh": "作废 {number}", "en": "Void {number}"},
    "confirm.cancel_ticket_no": {"zh": "返回", "en": "Back"},
    "confirm.recall_no_show": {
        "zh": "{number} 的重呼次数已用完，再呼叫将标记为过号。确定？",
        "en": "{number} has no recalls left: calling again marks it a no-show. Go ahead?",
    },
    "ticket.recalls_of": {"zh": "{count}/{limit}", "en": "{count} of {limit}"},
    "ticket.last_recall": {
        "zh": "{count}/{limit}（还可重呼1次）",
        "en": "{count} of {limit} (1 left)",
    },
    "ticket.recalls_used": {
        "zh": "{count}/{limit}（再呼即过号）",
        "en": "{count} of {limit} (next: no-show)",
    },
    "act.quit": {"zh": "退出程序", "en": "Quit"},
    "help.quit": {
        "zh": "按 Ctrl+Q 退出程序（关窗请按 Q）",
        "en": "Press Ctrl+Q to quit (Q closes the window)",
    },
    # dialogs
    "transfer.heading": {"zh": "转移 {number}", "en": "Transfer {number}"},
    "transfer.to_category": {"zh": "转到业务类别", "en": "To a category"},
    "transfer.to_window": {"zh": "转到指定窗口", "en": "To a named window"},
    "transfer.reason": {"zh": "转移原因", "en": "Reason"},
    "transfer.need_target": {"zh": "请选择目标类别或窗口", "en": "Choose a category or window"},
    "transfer.need_reason": {"zh": "请填写转移原因", "en": "Give a reason"},
    "transfer.window_not_serving": {
        "zh": "{window}：现在无人办理，票将等到该窗口开启。再按确定仍转移。",
        "en": "{window}: nobody serves there now; the ticket waits until it opens. "
        "Press OK again to transfer anyway.",
    },
    "pause.heading": {"zh": "暂停窗口", "en": "Pause the window"},
    "pause.reason": {"zh": "暂停原因", "en": "Reason"},
    "pause.presets": {
        "zh": "午间轮休,业务学习,临时离开",
        "en": "Lunch break,Training,Away briefly",
    },
    "pause.need_reason": {"zh": "请填写暂停原因", "en": "Give a reason"},
    "endchain.heading": {
        "zh": "结束 {number} 的一链办理（第{index}/{steps}步：{step}）",
        "en": "End the one-chain visit of {number} (step {index} of {steps}: {step})",
    },
    "endchain.note": {
        "zh": "本步办结，后续步骤不再办理。",
        "en": "This step is finished; the later steps will not be served.",
    },
    "endchain.presets": {
        "zh": "材料不全,群众要求终止,转其他窗口办理",
        "en": "Materials incomplete,Citizen asked to stop,Handled at another window",
    },
    "endchain.reason": {"zh": "结束原因", "en": "Reason"},
    "endchain.need_reason": {"zh": "请填写结束原因", "en": "Give a reason"},
    "callnum.heading": {"zh": "指定叫号", "en": "Call a specific number"},
    "callnum.number": {"zh": "票号，如 A005", "en": "Ticket number, e.g. A005"},
    "callnum.need_number": {"zh": "请输入票号", "en": "Enter a ticket number"},
    "cancelnum.heading": {"zh": "作废等候中的票", "en": "Void a waiting ticket"},
    "cancelnum.note": {
        "zh": "群众已离开、不再办理时使用。只能作废等候中的票。",
        "en": "For a citizen who has left. Only a waiting ticket can be voided.",
    },
    "cancelnum.number": {"zh": "票号，如 A012", "en": "Ticket number, e.g. A012"},
    "cancelnum.need_number": {"zh": "请输入票号", "en": "Enter a ticket number"},
    "cancelnum.is_called": {
        "zh": "{number} 正在本窗口呼叫，不能作废；群众未到请按 X 标记过号",
        "en": "{number} is called here and cannot be voided; if nobody comes, press X (no-show)",
    },
    "cancelnum.is_serving": {
        "zh": "{number} 正在本窗口办理，不能作废；请办结（F）或转移（T）",
        "en": "{number} is being served here and cannot be voided; finish (F) or transfer (T)",
    },
    "reinstate.heading": {"zh": "恢复过号票", "en": "Reinstate a no-show"},
    "reinstate.line": {
        "zh": "{number}  {category}  过号于 {at}",
        "en": "{number}  {category}  at {at}",
    },
    "reinstate.none": {"zh": "今日本窗口没有可恢复的过号票", "en": "No no-shows to reinstate"},
    # outcomes
    "done.called": {"zh": "已呼叫 {number}", "en": "Called {number}"},
    "done.reinstated": {"zh": "{number} 已恢复排队", "en": "{number} is waiting again"},
    "done.cancelled": {"zh": "{number} 已作废", "en": "{number} voided"},
    "done.transferred": {"zh": "{number} 已转移", "en": "{number} transferred"},
    "done.chain_ended": {
        "zh": "{number} 的一链办理已结束",
        "en": "The one-chain visit of {number} has ended",
    },
    "error.window_taken_plain": {
        "zh": "本窗口已在别处登录，本次登录已失效",
        "en": "This window has been logged in elsewhere; this login no longer holds",
    },
    "error.version_mismatch": {
        "zh": "窗口客户端与服务器的协议版本不符，请更新窗口客户端",
        "en": "The window client and the server speak different protocol versions: update it",
    },
    "error.forbidden": {"zh": "本窗口无权进行此操作", "en": "This window may not do that"},
    "error.not_for_window": {
        "zh": "{ticket} 不属于本窗口办理的业务",
        "en": "{ticket} is not for this window",
    },
}

t = shared.Words(STRINGS)


def duration(seconds: float, *, short: bool = False) -> str:
    """A duration in words in the desk's language (staff_tui.i18n.duration)."""
    return shared.duration(seconds, t, short=short)

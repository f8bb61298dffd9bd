"""The supervisor console's words in Chinese (default) and English; `t(key, **fields)`.

States, durations and error replies are shared with the window client (staff_tui.i18n);
these are the console's own, or its way of saying a shared one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from queue_protocol.messages import AlertKind, AlertView
from staff_tui import i18n as shared
from staff_tui.i18n import Language, Strings, language, set_language

if TYPE_CHECKING:
    from admin_console.state import HallBoard

__all__ = ["STRINGS", "Language", "describe_alert", "duration", "language", "set_language", "t"]

STRINGS: Strings = {
    "app.title": {"zh": "一窗 · 值班管理台", "en": "Yichuang · supervisor console"},
    # login
    "login.heading": {"zh": "值班主任 / 管理员登录", "en": "Supervisor / administrator login"},
    "login.account": {"zh": "账号", "en": "Account"},
    "login.need_all": {
        "zh": "请填写服务器地址、账号和密码",
        "en": "Fill in the server, account and password",
    },
    "login.not_supervisor": {
        "zh": "该账号不是值班主任或管理员，不能打开管理台",
        "en": "This account is not a supervisor or administrator: it cannot open the console",
    },
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
    "col.issuing": {"zh": "取号", "en": "Issuing"},
    "issuing.on": {"zh": "正常", "en": "On"},
    "issuing.paused": {"zh": "已停", "en": "Paused"},
    "issuing.paused_one": {"zh": "{category}（{reason}）", "en": "{category} ({reason})"},
    "issuing.paused_list": {"zh": " · 已停止取号：{which}", "en": " · issuing paused: {which}"},
    # alerts
    "hall.alerts": {
        "zh": "告警 {n} 条（未确认 {unseen}）  A 确认所选告警，Tab 切换表格",
        "en": "Alerts: {n} ({unseen} not acknowledged)  A acknowledges the selected one, Tab "
        "moves between tables",
    },
    "hall.no_alerts": {"zh": "告警：无", "en": "Alerts: none"},
    "col.raised": {"zh": "时间", "en": "Raised"},
    "col.severity": {"zh": "级别", "en": "Severity"},
    "col.about": {"zh": "内容", "en": "What"},
    "col.acknowledged": {"zh": "确认", "en": "Acknowledged"},
    "severity.critical": {"zh": "紧急", "en": "Critical"},
    "severity.warning": {"zh": "警告", "en": "Warning"},
    "severity.info": {"zh": "提示", "en": "Info"},
    "alert.unseen": {"zh": "未确认", "en": "not yet"},
    "alert.seen_by": {"zh": "已确认（{by}）", "en": "by {by}"},
    "alert.wait_past_target": {
        "zh": "{category} {ticket} 已等候 {value} 分钟（目标 {limit} 分钟）",
        "en": "{category}: {ticket} has waited {value} min (target {limit} min)",
    },
    "alert.wait_at_cap": {
        "zh": "{category} {ticket} 已等候 {value} 分钟达上限，没有开放窗口可办理",
        "en": "{category}: {ticket} has waited {value} min, the cap, and no open window takes it",
    },
    "alert.window_idle": {
        "zh": "{window} 空闲 {value} 分钟，有可叫的票在等候",
        "en": "{window} idle {value} min while tickets it may call wait",
    },
    "alert.window_paused_long": {
        "zh": "{window} 已暂停 {value} 分钟（上限 {limit} 分钟）",
        "en": "{window} paused for {value} min (limit {limit} min)",
    },
    "alert.service_long": {
        "zh": "{window} 办理 {ticket} 用时为该类平常的 {value} 倍",
        "en": "{window}: serving {ticket} has taken {value}× the category's usual",
    },
    "alert.no_show_burst": {
        "zh": "过号集中：{value} 人（阈值 {limit} 人）",
        "en": "No-show burst: {value} (threshold {limit})",
    },
    "alert.device_offline": {
        "zh": "设备「{device}」离线 {value} 秒",
        "en": "Device “{device}” offline for {value} s",
    },
    "alert.voice_failing": {
        "zh": "叫号屏「{device}」语音故障",
        "en": "Call screen “{device}”: voice failing",
    },
    "alert.bad_rating": {
        "zh": "{window} {ticket} 收到差评（{value} 分）",
        "en": "{window}: bad rating for {ticket} ({value})",
    },
    "alert.case_due": {
        "zh": "差评工单 {case} 号（{window} {ticket}）将到期：剩 {value} 个工作日，尚未反馈",
        "en": "Case {case} ({window} {ticket}) is due: {value} working days left, unanswered",
    },
    "alert.case_overdue": {
        "zh": "差评工单 {case} 号（{window} {ticket}）已超期 {value} 小时，尚未反馈",
        "en": "Case {case} ({window} {ticket}) is {value} h overdue, unanswered",
    },
    "alert.other": {"zh": "告警：{kind}", "en": "Alert: {kind}"},
    "alert.window": {"zh": "{number}号窗口", "en": "Window {number}"},
    "alert.no_alerts": {"zh": "当前没有告警", "en": "There are no alerts"},
    "alert.already": {"zh": "该告警已确认", "en": "That alert is acknowledged already"},
    "alert.cleared": {"zh": "该告警已解除", "en": "That alert has cleared meanwhile"},
    "done.acknowledged": {"zh": "告警已确认", "en": "Alert acknowledged"},
    # the audit screen
    "audit.title": {
        "zh": "审计记录：谁在何时做了什么（最新在前）  Esc 返回",
        "en": "Audit trail: who did what when (newest first)  Esc goes back",
    },
    "audit.account": {"zh": "账号，如 zhuren", "en": "Account, e.g. zhuren"},
    "audit.window": {"zh": "窗口号", "en": "Window"},
    "audit.ticket": {"zh": "票号", "en": "Ticket"},
    "audit.since": {
        "zh": "起始 HH:MM 或 YYYY-MM-DD HH:MM",
        "en": "Since HH:MM or YYYY-MM-DD HH:MM",
    },
    "audit.search": {"zh": "查询", "en": "Search"},
    "audit.export": {"zh": "导出 CSV", "en": "Export CSV"},
    "audit.back": {"zh": "返回", "en": "Back"},
    "audit.asking": {"zh": "正在查询…", "en": "Searching…"},
    "audit.count": {"zh": "共 {n} 条", "en": "{n} entries"},
    "audit.count_more": {
        "zh": "最新 {n} 条（更早的请缩小范围查询）",
        "en": "The newest {n} (narrow the search for older ones)",
    },
    "audit.bad_since": {
        "zh": "起始时间无效：{text}（应为 HH:MM 或 YYYY-MM-DD HH:MM）",
        "en": "Invalid start: {text} (expected HH:MM or YYYY-MM-DD HH:MM)",
    },
    "audit.bad_window": {"zh": "窗口号无效：{text}", "en": "Invalid window number: {text}"},
    "audit.need_path": {"zh": "请填写导出文件路径", "en": "Give the file to write"},
    "audit.cannot_write": {"zh": "无法写入文件 {path}", "en": "Cannot write the file {path}"},
    "audit.written": {
        "zh": "已导出 {n} 条到 {path}",
        "en": "{n} entries written to {path}",
    },
    "audit.by_server": {"zh": "（系统）", "en": "(the server)"},
    "audit.col.time": {"zh": "时间", "en": "Time"},
    "audit.col.by": {"zh": "操作人", "en": "By"},
    "audit.col.action": {"zh": "操作", "en": "Action"},
    "audit.col.window": {"zh": "窗口", "en": "Window"},
    "audit.col.ticket": {"zh": "票号", "en": "Ticket"},
    "audit.col.detail": {"zh": "详情", "en": "Detail"},
    "action.session_opened": {"zh": "登录", "en": "logged in"},
    "action.login_refused": {"zh": "登录被拒", "en": "login refused"},
    "action.ticket_issued": {"zh": "取号", "en": "ticket issued"},
    "action.ticket_called": {"zh": "叫号", "en": "called"},
    "action.ticket_recalled": {"zh": "重呼", "en": "recalled"},
    "action.service_started": {"zh": "开始办理", "en": "service started"},
    "action.service_finished": {"zh": "办结", "en": "service finished"},
    "action.ticket_no_show": {"zh": "过号", "en": "no-show"},
    "action.ticket_reinstated": {"zh": "过号恢复", "en": "reinstated"},
    "action.ticket_transferred": {"zh": "转移/移票", "en": "transferred / moved"},
    "action.ticket_cancelled": {"zh": "作废", "en": "voided"},
    "action.ticket_requeued": {"zh": "退回队列", "en": "requeued"},
    "action.ticket_expired": {"zh": "过期", "en": "expired"},
    "action.window_changed": {"zh": "窗口变更", "en": "window changed"},
    "action.config_changed": {"zh": "配置变更", "en": "configuration changed"},
    "action.alert_acknowledged": {"zh": "确认告警", "en": "alert acknowledged"},
    "action.appointment_booked": {"zh": "预约", "en": "appointment booked"},
    "action.appointment_cancelled": {"zh": "取消预约", "en": "appointment cancelled"},
    "action.appointment_checked_in": {"zh": "预约签到", "en": "checked in"},
    "action.day_closed": {"zh": "日结", "en": "day closed"},
    # the cases screen (评必反馈: screens/cases.py)
    "cases.heading": {
        "zh": "差评工单（评必反馈）：未办结 {n} 件 · 超期 {overdue} · 我负责 {mine}",
        "en": "Follow-up cases of bad ratings: {n} open · {overdue} overdue · {mine} mine",
    },
    "cases.with_finished": {"zh": "（含已办结）", "en": " (finished ones too)"},
    "cases.asking": {"zh": " · 正在读取…", "en": " · loading…"},
    "cases.none": {"zh": " · 没有工单", "en": " · no cases"},
    "case.keys": {
        "zh": "↑↓ 选择工单  下方按钮或按键办理所选工单  H 显示/隐藏已办结  Esc 返回",
        "en": "↑↓ choose a case  the buttons or their keys act on it  H finished ones "
        "shown/hidden  Esc back",
    },
    "case.col.id": {"zh": "工单", "en": "Case"},
    "case.col.state": {"zh": "状态", "en": "State"},
    "case.col.ticket": {"zh": "票号", "en": "Ticket"},
    "case.col.level": {"zh": "评价", "en": "Rating"},
    "case.col.reasons": {"zh": "原因", "en": "Reasons"},
    "case.col.window": {"zh": "窗口", "en": "Window"},
    "case.col.staff": {"zh": "工作人员", "en": "Staff"},
    "case.col.owner": {"zh": "负责人", "en": "Owner"},
    "case.col.due": {"zh": "反馈期限", "en": "Answer due"},
    "case.step.at": {"zh": "时间", "en": "Time"},
    "case.step.by": {"zh": "操作人", "en": "By"},
    "case.step.action": {"zh": "环节", "en": "Step"},
    "case.step.state": {"zh": "之后状态", "en": "State after"},
    "case.step.text": {"zh": "内容", "en": "Text"},
    "case.step.level": {"zh": "回访评价", "en": "Level"},
    "case.step.owner": {"zh": "转派给", "en": "To"},
    "case.state.open": {"zh": "待核实", "en": "Open"},
    "case.state.verified": {"zh": "已核实", "en": "Verified"},
    "case.state.rectifying": {"zh": "整改中", "en": "Rectifying"},
    "case.state.answered": {"zh": "已反馈", "en": "Answered"},
    "case.state.called_back": {"zh": "已回访", "en": "Called back"},
    "case.state.closed": {"zh": "已办结", "en": "Closed"},
    "case.state.appealed": {"zh": "申诉中", "en": "Appealed"},
    "case.state.excluded": {"zh": "已剔除", "en": "Excluded"},
    "case.action.opened": {"zh": "差评开单", "en": "Opened"},
    "case.action.verify": {"zh": "核实", "en": "Verify"},
    "case.action.rectify": {"zh": "整改", "en": "Rectify"},
    "case.action.answer": {"zh": "反馈", "en": "Answer"},
    "case.action.call_back": {"zh": "回访", "en": "Call back"},
    "case.action.close": {"zh": "办结", "en": "Close"},
    "case.action.appeal": {"zh": "申诉", "en": "Appeal"},
    "case.action.uphold": {"zh": "维持评价", "en": "Uphold"},
    "case.action.exclude": {"zh": "剔除评价", "en": "Exclude"},
    "case.action.assign": {"zh": "转派", "en": "Assign"},
    "case.act": {"zh": "{action} {key}", "en": "{action} {key}"},
    "level.1": {"zh": "非常满意", "en": "Very satisfied"},
    "level.2": {"zh": "满意", "en": "Satisfied"},
    "level.3": {"zh": "基本满意", "en": "Fairly satisfied"},
    "level.4": {"zh": "不满意", "en": "Dissatisfied"},
    "level.5": {"zh": "非常不满意", "en": "Very dissatisfied"},
    "case.channel.pad": {"zh": "评价器", "en": "rating pad"},
    "case.channel.qr": {"zh": "二维码", "en": "QR code"},
    "case.channel.paper": {"zh": "纸质评价表", "en": "paper form"},
    "case.visit": {"zh": "整次办事", "en": "whole visit"},
    "case.mine": {"zh": "★{name}（我）", "en": "★{name} (me)"},
    "case.overdue": {"zh": "{due} 超期", "en": "{due} OVERDUE"},
    "case.late": {"zh": "{due} 超期反馈", "en": "{due} answered late"},
    "case.pick": {"zh": "（选择一件工单查看详情）", "en": "(choose a case to see it)"},
    "case.heading": {
        "zh": "{case} 号工单 · {state} · 负责人 {owner} · 反馈期限 {due}",
        "en": "Case {case} · {state} · owner {owner} · answer due {due}",
    },
    "case.rating": {
        "zh": "评价：{level}（{channel}，{at}）  票号 {ticket}  事项 {item}",
        "en": "Rating: {level} ({channel}, {at})  ticket {ticket}  item {item}",
    },
    "case.where": {
        "zh": "窗口：{window}  工作人员：{staff}  电话：{phone}",
        "en": "Window: {window}  staff: {staff}  phone: {phone}",
    },
    "case.reasons": {
        "zh": "原因：{reasons}  意见：{comment}",
        "en": "Reasons: {reasons}  comment: {comment}",
    },
    "case.answered": {"zh": "已于 {at} 按期反馈", "en": "Answered on time, {at}"},
    "case.answered_late": {"zh": "已于 {at} 反馈（超期）", "en": "Answered late, {at}"},
    "case.called_back": {"zh": " · 回访：{level}", "en": " · call back: {level}"},
    "case.excluded": {
        "zh": "申诉成立：该评价已剔除，不计入好差评统计",
        "en": "Appeal granted: the rating is excluded from the figures",
    },
    "case.dialog.heading": {
        "zh": "{action} · {case} 号工单（{ticket} {level}）",
        "en": "{action} · case {case} ({ticket}, {level})",
    },
    "case.dialog.level": {"zh": "群众对反馈的评价", "en": "The citizen's level for the answer"},
    "case.dialog.owner": {"zh": "转派给（账号，如 zhuren）", "en": "To (an account, e.g. zhuren)"},
    "case.text.verify": {"zh": "核实情况", "en": "What was found"},
    "case.text.rectify": {"zh": "整改措施", "en": "What was done to put it right"},
    "case.text.answer": {"zh": "向群众反馈的内容", "en": "The answer given to the citizen"},
    "case.text.call_back": {"zh": "回访情况", "en": "What the citizen said"},
    "case.text.close": {"zh": "备注（可不填）", "en": "A note (optional)"},
    "case.text.appeal": {"zh": "申诉理由", "en": "The grounds of the appeal"},
    "case.text.uphold": {"zh": "复核意见：维持的理由", "en": "Why the rating stands"},
    "case.text.exclude": {"zh": "复核意见：剔除的理由", "en": "Why the rating is excluded"},
    "case.text.assign": {"zh": "转派说明（可不填）", "en": "A note (optional)"},
    "case.note.verify": {
        "zh": "调阅录像、询问当事人等核实的结果",
        "en": "What the footage, the staff member and others say happened",
    },
    "case.note.rectify": {
        "zh": "可多次整改；之后向群众反馈",
        "en": "It may be rectified more than once; then the citizen is answered",
    },
    "case.note.answer": {
        "zh": "反馈须在期限前完成（按期反馈计入回复率）",
        "en": "The answer is due by the deadline (answers on time make the reply rate)",
    },
    "case.note.call_back": {
        "zh": "回访群众，记录其对反馈的评价（1 非常满意 … 5 非常不满意）",
        "en": "Call the citizen back and note their level for the answer (1 … 5)",
    },
    "case.note.close": {"zh": "办结后工单不能再更改", "en": "A closed case cannot change again"},
    "case.note.appeal": {
        "zh": "评价有误或恶意评价时提出；须由另一位值班主任复核",
        "en": "For a mistaken or malicious rating; another supervisor reviews it",
    },
    "case.note.uphold": {
        "zh": "评价成立，工单回到申诉前的环节；申诉人本人不能复核",
        "en": "The rating stands: the case goes back to where it was; not by the appellant",
    },
    "case.note.exclude": {
        "zh": "申诉成立，该评价不再计入统计，工单结束；申诉人本人不能复核",
        "en": "The rating leaves the figures and the case ends; not by the appellant",
    },
    "case.note.assign": {
        "zh": "由另一位值班主任负责该工单",
        "en": "Another supervisor becomes responsible for the case",
    },
    "case.need_text": {"zh": "请填写内容", "en": "Write what was found, done or said"},
    "case.need_level": {"zh": "请选择群众的评价", "en": "Choose the citizen's level"},
    "case.need_owner": {"zh": "请填写转派的账号", "en": "Give the account"},
    "case.done": {
        "zh": "{case} 号工单：{action}已记录，现为「{state}」",
        "en": "Case {case}: {action} recorded, now “{state}”",
    },
    "case.refused.state": {
        "zh": "{case} 号工单现为「{state}」，不能{action}",
        "en": "Case {case} is “{state}”: it cannot be given “{action}”",
    },
    "case.refused.state_plain": {
        "zh": "{case} 号工单现为「{state}」",
        "en": "Case {case} is “{state}”",
    },
    "case.refused.own_appeal": {
        "zh": "该申诉由您本人提出，须由另一位值班主任复核",
        "en": "You made this appeal: another supervisor must review it",
    },
    "case.refused.no_case": {"zh": "没有 {case} 号工单", "en": "There is no case {case}"},
    "case.refused.no_account": {
        "zh": "没有账号 {account}，或该账号已停用",
        "en": "There is no account {account}, or it is disabled",
    },
    # keys
    "keys": {
        "zh": "C 关窗 P 暂停/恢复 F 改业务 N 指定叫号 T 转移 G 移票 X 作废 I 停/恢复取号 "
        "A 确认告警 M 通知 R 工单 U 审计 Ctrl+Q 退出",
        "en": "C close P pause F profile N call T transfer G move X void I issuing "
        "A acknowledge M notice R cases U audit ^Q quit",
    },
    "help.quit": {"zh": "按 Ctrl+Q 退出管理台", "en": "Press Ctrl+Q to quit the console"},
    # dialogs
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
    "ticket.reason": {"zh": "原因（记入审计）", "en": "Reason (kept in the audit trail)"},
    "ticket.not_waiting": {
        "zh": "{ticket} 的状态为「{state}」，只能作废或移动等候中的票",
        "en": "{ticket} is “{state}”: only a waiting ticket can be voided or moved",
    },
    "move.heading": {
        "zh": "移票：等候中的票改到其他类别或指定窗口（保留原排队时间）",
        "en": "Move a waiting ticket to another category or a named window (it keeps its time)",
    },
    "move.nowhere": {
        "zh": "{ticket} 已在该类别/窗口，无需移动",
        "en": "{ticket} is there already: nothing to move",
    },
    "move.ticket": {"zh": "等候中的票号", "en": "The waiting ticket"},
    "done.moved": {"zh": "{ticket} 已移动", "en": "{ticket} moved"},
    "pick.category": {
        "zh": "请先在排队表中选中一个类别（Tab 切换表格）",
        "en": "Select a category in the queues table first (Tab moves between tables)",
    },
    "issuing.heading": {
        "zh": "停止 {code} {category} 的取号",
        "en": "Pause issuing {code} {category} tickets",
    },
    "issuing.reason": {
        "zh": "原因，如：今日号已取完",
        "en": "Reason, e.g. today's tickets are gone",
    },
    "issuing.already_paused": {
        "zh": "{category} 已停止取号",
        "en": "Issuing {category} is paused already",
    },
    "issuing.not_paused": {
        "zh": "{category} 未停止取号",
        "en": "Issuing {category} is not paused",
    },
    "done.issuing_paused": {"zh": "{category} 已停止取号", "en": "Issuing {category} paused"},
    "done.issuing_resumed": {"zh": "{category} 已恢复取号", "en": "Issuing {category} resumed"},
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


def _number(value: float | None) -> str:
    if value is None:
        return "?"
    return f"{round(value, 1):g}"


def describe_alert(alert: AlertView, board: HallBoard) -> str:
    """What an alert is about, in a line: its kind with what it names and its figures."""
    category = board.categories.get(alert.category or "")
    window = board.windows.get(alert.window or 0)
    fields = {
        "category": (category.name if category else alert.category) or "",
        "ticket": alert.ticket or "",
        "window": (
            t("alert.window", number=alert.window) + (f" {window.name}" if window else "")
            if alert.window is not None
            else ""
        ),
        "device": alert.device or "",
        "case": "" if alert.case is None else str(alert.case),
        "value": _number(alert.value),
        "limit": _number(alert.limit),
        "kind": alert.kind,
    }
    key = f"alert.{alert.kind.value}" if isinstance(alert.kind, AlertKind) else "alert.other"
    return t(key, **fields).strip()

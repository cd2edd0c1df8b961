"""The checklist templates civgrid ships (zh-CN and en): each item's pass rule, and for a
failure the grid service item (category) and the time limit of the case it opens.

Drawn from common grid-inspection practice for 三小场所, rental housing, production safety,
food businesses, construction sites, gas use and lifts. Admins edit them after loading.
"""

from __future__ import annotations

from dataclasses import dataclass

from civgrid.calendar.units import TimeUnit
from civgrid.ledger.models import LedgerKind

D = TimeUnit.WORK_DAYS
H = TimeUnit.EMERGENCY_HOURS


@dataclass(frozen=True)
class Item:
    text_zh: str
    text_en: str
    rule_zh: str
    rule_en: str
    category: str
    amount: float
    unit: TimeUnit


@dataclass(frozen=True)
class Template:
    code: str
    name_zh: str
    name_en: str
    service_item: str
    target: LedgerKind
    items: tuple[Item, ...]


TEMPLATES = (
    Template(
        "FIRE-3SMALL",
        "三小场所消防安全检查",
        "Fire safety of small shops, hotels and workshops",
        "G02",
        LedgerKind.UNITS,
        (
            Item(
                "灭火器配置",
                "Fire extinguishers",
                "每50㎡不少于2具且在有效期内",
                "At least 2 per 50 m², in date",
                "G02006",
                3,
                D,
            ),
            Item(
                "疏散通道畅通",
                "Escape routes clear",
                "通道、安全出口无堵塞、无锁闭",
                "No blocked or locked exits",
                "G02003",
                24,
                H,
            ),
            Item(
                "无住人现象",
                "Nobody sleeps on the premises",
                "经营、仓储区域与住宿完全分隔",
                "Sleeping areas fully separated",
                "G02006",
                3,
                D,
            ),
            Item(
                "电气线路规范",
                "Wiring",
                "无私拉乱接电线，无超负荷用电",
                "No improvised or overloaded wiring",
                "G02006",
                5,
                D,
            ),
            Item(
                "电动车不在室内充电",
                "No e-bike charging indoors",
                "室内及通道无电动车停放充电",
                "No e-bikes parked or charged inside",
                "G02005",
                24,
                H,
            ),
        ),
    ),
    Template(
        "RENTAL-SAFETY",
        "出租房屋安全检查",
        "Rental housing safety",
        "G01",
        LedgerKind.DWELLINGS,
        (
            Item(
                "烟感与灭火器",
                "Smoke alarm and extinguisher",
                "每户有独立式烟感报警器和灭火器",
                "Each household has a smoke alarm and extinguisher",
                "G01003",
                5,
                D,
            ),
            Item(
                "用电安全",
                "Electrical safety",
                "无私拉电线，插座不超负荷",
                "No improvised wiring or overloaded sockets",
                "G01001",
                5,
                D,
            ),
            Item(
                "无违规隔断群租",
                "No illegal partitions",
                "无违规隔断，人均面积符合规定",
                "No partitions; floor area per person within the rule",
                "G01002",
                10,
                D,
            ),
            Item(
                "房屋结构安全",
                "Structural safety",
                "无明显裂缝、沉降、渗漏",
                "No visible cracks, settling or leaks",
                "G01001",
                3,
                D,
            ),
        ),
    ),
    Template(
        "PRODUCTION-SAFETY",
        "企业安全生产检查",
        "Production safety in enterprises and workshops",
        "G04",
        LedgerKind.UNITS,
        (
            Item(
                "安全生产责任制",
                "Safety responsibility",
                "有书面安全责任制和安全员",
                "Written safety duties and a safety officer",
                "G04002",
                10,
                D,
            ),
            Item(
                "危险品存放",
                "Hazardous goods",
                "易燃易爆品专库存放、数量合规",
                "Flammables in a separate store, within limits",
                "G04003",
                24,
                H,
            ),
            Item(
                "设备防护",
                "Machine guards",
                "传动部位有防护罩，急停有效",
                "Moving parts guarded; emergency stops work",
                "G04002",
                5,
                D,
            ),
            Item(
                "员工安全培训",
                "Safety training",
                "员工有岗前安全培训记录",
                "Induction safety training recorded",
                "G04002",
                10,
                D,
            ),
        ),
    ),
    Template(
        "FOOD",
        "食品经营检查",
        "Food business inspection",
        "G03",
        LedgerKind.UNITS,
        (
            Item(
                "证照齐全有效",
                "Licences valid",
                "营业执照、食品经营许可证在有效期内并公示",
                "Business and food licences valid and displayed",
                "G14002",
                10,
                D,
            ),
            Item(
                "从业人员健康证",
                "Staff health certificates",
                "从业人员持有效健康证明",
                "Staff hold valid health certificates",
                "G03001",
                10,
                D,
            ),
            Item(
                "无过期变质食品",
                "No expired food",
                "库存及售卖食品均在保质期内",
                "All stock within its use-by date",
                "G03002",
                24,
                H,
            ),
            Item(
                "后厨卫生与防鼠",
                "Kitchen hygiene",
                "生熟分开，防鼠防蝇设施完好",
                "Raw and cooked apart; pest screens intact",
                "G03002",
                3,
                D,
            ),
        ),
    ),
    Template(
        "SITE",
        "建筑工地检查",
        "Construction site inspection",
        "G12",
        LedgerKind.UNITS,
        (
            Item(
                "围挡与扬尘控制",
                "Hoarding and dust",
                "围挡完整，裸土覆盖，出口冲洗",
                "Hoarding intact, bare soil covered, wheels washed",
                "G12002",
                3,
                D,
            ),
            Item(
                "夜间施工许可",
                "Night work permit",
                "22时后施工持有夜间施工许可",
                "Permit for work after 22:00",
                "G12003",
                24,
                H,
            ),
            Item(
                "基坑与脚手架安全",
                "Pits and scaffolding",
                "基坑有支护和护栏，脚手架验收合格",
                "Pits shored and fenced; scaffolding approved",
                "G12001",
                24,
                H,
            ),
            Item(
                "工人工资公示",
                "Wage notice",
                "设有工资支付公示牌",
                "A wage-payment notice board is posted",
                "G13001",
                10,
                D,
            ),
        ),
    ),
    Template(
        "GAS",
        "燃气使用安全检查",
        "Gas use safety",
        "G02",
        LedgerKind.UNITS,
        (
            Item(
                "燃气报警器",
                "Gas detector",
                "使用燃气场所安装可燃气体报警器并联动切断",
                "Detector installed and linked to a shut-off valve",
                "G02002",
                5,
                D,
            ),
            Item(
                "软管与阀门",
                "Hoses and valves",
                "金属软管，无老化、无私接",
                "Metal hoses, not aged, no improvised joints",
                "G02002",
                24,
                H,
            ),
            Item(
                "气瓶存放",
                "Cylinder storage",
                "气瓶直立、单独存放、不超过规定数量",
                "Upright, stored apart, within the limit",
                "G02002",
                24,
                H,
            ),
        ),
    ),
    Template(
        "LIFT",
        "电梯安全检查",
        "Lift safety",
        "G09",
        LedgerKind.BUILDINGS,
        (
            Item(
                "检验合格标志",
                "Inspection certificate",
                "轿厢内张贴有效期内的检验合格标志",
                "A valid certificate posted in the car",
                "G09003",
                5,
                D,
            ),
            Item(
                "维保记录",
                "Maintenance record",
                "每15日至少一次维保并有记录",
                "Maintained at least every 15 days, recorded",
                "G09003",
                5,
                D,
            ),
            Item(
                "应急电话畅通",
                "Emergency phone",
                "轿厢应急呼叫可接通值守人员",
                "The car's emergency call reaches a person",
                "G09003",
                24,
                H,
            ),
        ),
    ),
)

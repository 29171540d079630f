"""Builds notes.jsonl (the frozen independent de-identification evaluation set, issue #16) from the
hand-written templates.txt and the hand-picked value pools below. Deterministic: seed 16.

Each output row: {id, kind, text, phi: [{start, end, type, text}], keep: [{start, end, text}]}.
PHI types: PATIENT, RELATIVE, CLINICIAN, ID, PHONE, RECORD, EMAIL, DATE, ADDRESS; HOSPITAL spans are
listed too but are neutral (not a target; a detector masking them is not penalised).

    python benchmarks/data/deid_independent/build.py   # rewrites notes.jsonl next to this file
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 16
COPIES = 3

# (surname, given) -- written for this set, compound and rare surnames included.
PATIENTS = [
    ("张", "建国"), ("刘", "淑芬"), ("王", "志强"), ("陈", "秀兰"), ("杨", "桂花"), ("赵", "德胜"), ("黄", "丽萍"),
    ("周", "海涛"), ("吴", "春燕"), ("徐", "国庆"), ("孙", "玉梅"), ("马", "晓东"), ("朱", "红霞"), ("胡", "永刚"),
    ("郭", "美玲"), ("林", "志远"), ("何", "文斌"), ("罗", "佳怡"), ("梁", "少华"), ("宋", "雨轩"), ("郑", "丹"),
    ("谢", "军"), ("韩", "冰"), ("冯", "勇"), ("唐", "敏"), ("曹", "宇"), ("欧阳", "明辉"), ("司马", "秋菊"),
    ("诸葛", "亮平"), ("上官", "婉清"), ("慕容", "雪"), ("皇甫", "建军"), ("东方", "晓红"), ("司徒", "文静"),
    ("夏侯", "俊"), ("令狐", "春生"), ("晏", "子豪"), ("蔺", "素芳"), ("覃", "丽娟"), ("佘", "宝华"), ("亓", "明月"),
    ("甄", "爱民"), ("匡", "小燕"), ("邝", "伟雄"), ("阎", "福生"), ("龚", "翠兰"), ("俞", "杭生"), ("卞", "金凤"),
    ("闵", "浩然"), ("滕", "建平"), ("农", "秀英"), ("莫", "桂兰"), ("尹", "少波"), ("蒙", "丽华"), ("邱", "德贵"),
    ("储", "晓晴"), ("岑", "凤英"), ("苗", "壮"), ("练", "秀梅"), ("揭", "永福"),
]
RELATIVES = [
    ("张", "磊"), ("刘", "洋洋"), ("王", "丽娜"), ("陈", "刚"), ("李", "秀英"), ("杨", "帆"), ("赵", "雪梅"), ("黄", "伟"),
    ("周", "婷婷"), ("吴", "强"), ("徐", "静"), ("孙", "浩"), ("马", "兰芳"), ("朱", "鹏"), ("胡", "晓丽"), ("郭", "强华"),
    ("林", "峰"), ("何", "丽"), ("罗", "建伟"), ("梁", "美华"), ("宋", "涛"), ("郑", "秀珍"), ("谢", "婉婷"), ("韩", "立新"),
    ("冯", "丽君"), ("唐", "志明"), ("欧阳", "娜娜"), ("诸葛", "晓峰"), ("上官", "瑞"), ("司马", "红英"), ("端木", "文华"),
    ("公孙", "嘉"), ("宇文", "静"), ("尉迟", "刚"), ("钟离", "秀"), ("长孙", "宁"), ("闻", "一鸣"), ("芮", "小萍"),
    ("仝", "振华"), ("邢", "雅琴"), ("柏", "松"), ("谭", "春花"), ("廖", "国华"), ("武", "丽"), ("兰", "建英"),
]
CLINICIANS = [
    ("刘", "洋"), ("李", "建华"), ("王", "海燕"), ("陈", "志刚"), ("张", "晓明"), ("杨", "柳"), ("赵", "敏"), ("孙", "立军"),
    ("周", "文"), ("吴", "海波"), ("郑", "晓燕"), ("冯", "刚"), ("蒋", "文涛"), ("沈", "静"), ("韩", "梅"), ("杜", "鹏飞"),
    ("叶", "青"), ("程", "丽"), ("苏", "文博"), ("魏", "东"), ("吕", "静怡"), ("丁", "一"), ("任", "杰"), ("姚", "明远"),
    ("卢", "俊"), ("钟", "华"), ("田", "甜"), ("范", "志伟"), ("方", "芳"), ("石", "磊"), ("袁", "媛"), ("邹", "凯"),
    ("熊", "伟"), ("金", "鑫"), ("陆", "海"), ("白", "雪"), ("高", "峰"), ("欧阳", "晨"), ("司徒", "嘉明"), ("上官", "云"),
    ("汪", "洁"), ("贺", "军"), ("戴", "丽华"), ("夏", "雨"), ("侯", "建新"), ("段", "立平"), ("雷", "鸣"), ("龙", "飞"),
]
GIVEN = ["磊", "伟", "芳", "丽", "强", "军", "静", "涛", "杰", "建平", "小红", "文华", "海燕", "志明", "春梅", "晓峰", "宁"]

# blind6 (a separate check set): its own names, none of them in the pools above. Same value generators otherwise.
BLIND6_PATIENTS = [
    ("王", "建华"), ("李", "志强"), ("张", "平安"), ("刘", "春生"), ("陈", "海波"), ("杨", "文静"), ("黄", "红梅"),
    ("赵", "国庆"), ("吴", "小燕"), ("周", "天明"), ("徐", "子涵"), ("孙", "一诺"), ("马", "玉兰"), ("朱", "长青"),
    ("胡", "秀云"), ("郭", "振东"), ("何", "淑珍"), ("高", "素英"), ("林", "永康"), ("罗", "桂英"), ("郑", "宏"),
    ("梁", "巧云"), ("谢", "德明"), ("宋", "金花"), ("唐", "浩"), ("许", "凤兰"), ("韩", "宝山"), ("冯", "秋月"),
    ("邓", "爱华"), ("曹", "玉珍"), ("彭", "立国"), ("曾", "淑华"), ("肖", "军"), ("田", "桂芝"), ("董", "树林"),
    ("袁", "翠英"), ("潘", "长生"), ("于", "海洋"), ("蒋", "淑兰"), ("蔡", "福来"), ("余", "春兰"), ("杜", "明"),
    ("叶", "根生"), ("程", "雪莲"), ("苏", "大勇"), ("魏", "秀芹"), ("吕", "铁柱"), ("丁", "兰英"), ("任", "子轩"),
    ("沈", "梦琪"), ("姚", "诗涵"), ("卢", "振国"), ("姜", "桂荣"), ("崔", "永红"), ("欧阳", "志华"), ("司马", "平"),
    ("端木", "春燕"), ("阚", "晓梅"), ("靳", "德华"), ("栾", "少卿"),
]
BLIND6_RELATIVES = [
    ("钟", "建军"), ("谭", "秀梅"), ("陆", "国强"), ("汪", "小红"), ("范", "志勇"), ("金", "秀兰"), ("石", "平安"),
    ("廖", "永强"), ("贾", "丽"), ("夏", "天明"), ("韦", "海波"), ("付", "小燕"), ("方", "建华"), ("白", "国庆"),
    ("邹", "子涵"), ("孟", "一诺"), ("熊", "志强"), ("秦", "文静"), ("邱", "红"), ("江", "海"), ("尹", "桂香"),
    ("薛", "明"), ("闫", "丽红"), ("段", "淑英"), ("雷", "雨"), ("侯", "玉洁"), ("龙", "小虎"), ("史", "金宝"),
    ("陶", "然"), ("黎", "嘉欣"), ("贺", "鹏"), ("顾", "晓婷"), ("毛", "建设"), ("郝", "美丽"), ("龚", "志刚"),
    ("邵", "安"), ("万", "家乐"), ("钱", "玉凤"), ("严", "冬"), ("覃", "海生"), ("武", "建国"), ("戴", "红"),
    ("孔", "令军"), ("向", "阳"), ("欧阳", "雪琴"),
]
BLIND6_CLINICIANS = [
    ("王", "子健"), ("李", "红梅"), ("张", "海波"), ("刘", "文静"), ("陈", "天明"), ("杨", "志强"), ("黄", "建华"),
    ("赵", "平安"), ("吴", "春生"), ("周", "小燕"), ("徐", "晓光"), ("孙", "倩"), ("马", "骏"), ("朱", "丽娟"),
    ("胡", "明"), ("郭", "小川"), ("何", "平"), ("高", "翔"), ("林", "立"), ("罗", "斌"), ("郑", "国栋"), ("梁", "晨"),
    ("谢", "飞"), ("宋", "佳"), ("唐", "亮"), ("许", "诺"), ("韩", "东"), ("冯", "雪"), ("邓", "晓华"), ("曹", "磊"),
    ("彭", "博"), ("曾", "毅"), ("肖", "蓉"), ("田", "野"), ("董", "卫东"), ("袁", "立群"), ("潘", "敏"), ("于", "洋"),
    ("蒋", "帆"), ("蔡", "文"), ("卜", "凡"), ("皇甫", "丽"), ("欧阳", "慧"), ("司徒", "强"), ("尉迟", "明"),
    ("南宫", "燕"), ("祁", "海峰"), ("查", "磊"), ("单", "红"), ("牛", "晓丽"),
]
# given names for a relative who shares the patient's surname ({R1~})
BLIND6_GIVEN = ["建军", "淑英", "小明", "红", "卫国", "春花", "晓霞", "立平", "宏伟", "桂芳", "一凡", "欣怡", "国梁",
                "玉珍", "思远", "美兰", "振"]
BLIND6_POOLS = (BLIND6_PATIENTS, BLIND6_RELATIVES, BLIND6_CLINICIANS, BLIND6_GIVEN)
# blind7 (a separate check set): its own names, none of them in the pools above (nor any {R1~} surname+given pairing
# of theirs). Same value generators otherwise.
BLIND7_PATIENTS = [
    ("李", "春雨"), ("王", "建设"), ("张", "光明"), ("刘", "文化"), ("陈", "志愿"), ("杨", "海洋"), ("赵", "秀琴"),
    ("黄", "宗耀"), ("周", "美华"), ("吴", "桂枝"), ("徐", "长江"), ("孙", "和平"), ("马", "金山"), ("朱", "玉林"),
    ("胡", "红旗"), ("郭", "淑琴"), ("何", "建明"), ("高", "雪芳"), ("林", "晓雯"), ("罗", "国富"), ("郑", "胜利"),
    ("梁", "慧敏"), ("谢", "彩霞"), ("宋", "斌"), ("唐", "丰收"), ("许", "家豪"), ("韩", "晓莉"), ("冯", "德福"),
    ("邓", "莉"), ("曹", "前进"), ("彭", "淑贞"), ("曾", "庆华"), ("肖", "雨桐"), ("田", "有才"), ("董", "秀珍"),
    ("袁", "新华"), ("潘", "玉霞"), ("蒋", "家明"), ("蔡", "美玉"), ("余", "大海"), ("杜", "春光"), ("叶", "秋生"),
    ("程", "婉如"), ("苏", "银花"), ("魏", "平原"), ("吕", "淑云"), ("丁", "素梅"), ("沈", "思琪"), ("姚", "福根"),
    ("卢", "阳光"), ("姜", "美凤"), ("崔", "世杰"), ("欧阳", "春华"), ("司马", "文军"), ("上官", "佩玲"), ("公孙", "立"),
    ("濮", "志成"), ("昝", "秀兰"), ("訾", "海"), ("隗", "凤霞"),
]
BLIND7_RELATIVES = [
    ("钱", "志华"), ("孔", "繁荣"), ("严", "秋菊"), ("贾", "明亮"), ("夏", "晴"), ("韦", "丽芳"), ("付", "建民"),
    ("方", "小军"), ("白", "玉兰"), ("邹", "文杰"), ("孟", "庆丰"), ("熊", "爱国"), ("秦", "嘉怡"), ("江", "山"),
    ("尹", "凤琴"), ("薛", "成"), ("闫", "春梅"), ("段", "丽萍"), ("雷", "振兴"), ("侯", "秀芝"), ("龙", "腾"),
    ("史", "文斌"), ("陶", "红英"), ("黎", "明"), ("贺", "兰英"), ("顾", "卫平"), ("毛", "晓玲"), ("郝", "军"),
    ("邵", "美琴"), ("万", "里"), ("武", "桂珍"), ("戴", "金龙"), ("向", "东"), ("汤", "秀梅"), ("温", "暖"),
    ("康", "健"), ("葛", "淑华"), ("申", "建强"), ("符", "海燕"), ("鲍", "丽华"), ("端木", "立新"), ("皇甫", "秀芳"),
    ("东方", "明"), ("殷", "志勇"), ("柯", "晓红"),
]
BLIND7_CLINICIANS = [
    ("李", "文明"), ("王", "晓春"), ("张", "友谊"), ("刘", "敬"), ("陈", "雪松"), ("杨", "光"), ("黄", "河"),
    ("赵", "蕾"), ("周", "立波"), ("吴", "昊"), ("徐", "丽萍"), ("孙", "海龙"), ("马", "骁"), ("朱", "江"),
    ("胡", "博文"), ("郭", "晓静"), ("何", "晶"), ("高", "原"), ("林", "瑶"), ("罗", "晓玲"), ("郑", "宇"),
    ("梁", "文婷"), ("谢", "天"), ("宋", "雨"), ("唐", "雯"), ("许", "晴"), ("韩", "雪"), ("冯", "建勋"),
    ("邓", "海"), ("曹", "雯静"), ("彭", "宇航"), ("曾", "丽"), ("肖", "锋"), ("田", "园"), ("董", "凯"),
    ("苏", "晴"), ("潘", "晓燕"), ("蒋", "春晖"), ("蔡", "晓"), ("余", "庆"), ("金", "秋"), ("常", "青"),
    ("乔", "安"), ("关", "心"), ("骆", "佳"), ("欧阳", "振宇"), ("司徒", "颖"), ("慕容", "晓"), ("宇文", "博"),
    ("牟", "长安"),
]
# given names for a relative who shares the patient's surname ({R1~})
BLIND7_GIVEN = ["建业", "秀凤", "小龙", "卫红", "春霞", "晓辉", "立华", "宏斌", "桂琴", "雨涵", "国安", "思雨", "美芝",
                "长顺", "朝阳", "星", "永年"]
BLIND7_POOLS = (BLIND7_PATIENTS, BLIND7_RELATIVES, BLIND7_CLINICIANS, BLIND7_GIVEN)
# blind8 (a separate check set): its own names, none of them in the pools above (nor any {R1~} surname+given pairing
# of theirs, and none of its own {R1~} pairings either). Same value generators otherwise.
BLIND8_PATIENTS = [
    ("王", "淑芬"), ("李", "卫星"), ("张", "梓涵"), ("刘", "长春"), ("陈", "向阳"), ("杨", "秀珍"), ("赵", "立春"),
    ("黄", "浩宇"), ("周", "光荣"), ("吴", "思彤"), ("徐", "子墨"), ("孙", "长河"), ("马", "秋实"), ("朱", "文静"),
    ("胡", "桂兰"), ("郭", "志远"), ("何", "雨露"), ("高", "天宇"), ("林", "凤芝"), ("罗", "美霞"), ("郑", "金花"),
    ("梁", "雪"), ("宋", "建新"), ("唐", "晓光"), ("许", "红旗"), ("韩", "美娟"), ("冯", "玉芬"), ("邓", "子豪"),
    ("曹", "凤兰"), ("彭", "国庆"), ("于", "静"), ("单", "秀英"), ("查", "文斌"), ("方", "明"), ("常", "胜"),
    ("司", "春花"), ("和", "平"), ("应", "晓燕"), ("时", "光"), ("成", "功"), ("向", "前"), ("甘", "露"),
    ("牛", "建国"), ("包", "玉凤"), ("左", "宗明"), ("齐", "心"), ("景", "秀"), ("边", "小勇"), ("居", "安"),
    ("全", "美玲"), ("欧阳", "嘉琪"), ("司马", "长风"), ("诸葛", "欣悦"), ("上官", "若兰"), ("呼延", "建平"),
    ("澹台", "明"), ("邴", "玉芬"), ("郗", "振华"), ("冼", "志豪"), ("庹", "红"),
]
BLIND8_RELATIVES = [
    ("王", "丽丽"), ("李", "国栋"), ("张", "晨阳"), ("刘", "春燕"), ("陈", "淑华"), ("杨", "宏"), ("赵", "文博"),
    ("黄", "翠花"), ("周", "志刚"), ("吴", "梦瑶"), ("徐", "爱华"), ("孙", "伟东"), ("马", "丽珍"), ("朱", "浩然"),
    ("胡", "雪梅"), ("郭", "晓军"), ("何", "慧"), ("高", "国华"), ("林", "晓红"), ("罗", "红梅"), ("于", "海波"),
    ("单", "丽"), ("查", "玉兰"), ("方", "雨晴"), ("常", "建华"), ("司", "国强"), ("和", "秀兰"), ("经", "纬"),
    ("应", "婷"), ("时", "雨"), ("成", "秀梅"), ("向", "红"), ("卫", "东"), ("米", "兰"), ("花", "美芳"),
    ("甘", "淑珍"), ("牛", "丽娟"), ("包", "志勇"), ("齐", "秀云"), ("习", "海峰"), ("过", "春霞"), ("将", "永平"),
    ("欧阳", "丽华"), ("公冶", "明"), ("钟离", "婉"),
]
BLIND8_CLINICIANS = [
    ("王", "一鸣"), ("李", "慧"), ("张", "卫平"), ("刘", "冬梅"), ("陈", "晶晶"), ("杨", "晨"), ("赵", "雪峰"),
    ("黄", "志华"), ("周", "敏"), ("吴", "晓丽"), ("徐", "振宇"), ("孙", "婷"), ("马", "超"), ("朱", "明辉"),
    ("胡", "丹"), ("郭", "峰"), ("何", "佳"), ("高", "明"), ("林", "秋雨"), ("罗", "志"), ("郑", "晓波"),
    ("梁", "勇"), ("谢", "春晖"), ("宋", "立"), ("唐", "晓雨"), ("许", "文"), ("韩", "旭"), ("冯", "晓岚"),
    ("邓", "伟"), ("曹", "亮"), ("于", "文华"), ("单", "晓峰"), ("查", "俊"), ("方", "正"), ("常", "乐"),
    ("司", "文涛"), ("和", "晓梅"), ("应", "天"), ("时", "晓春"), ("成", "刚"), ("向", "明"), ("卫", "华"),
    ("甘", "雨"), ("包", "立国"), ("左", "丹丹"), ("齐", "鸣"), ("景", "涛"), ("居", "文杰"), ("欧阳", "婷"),
    ("东方", "晓"),
]
# given names for a relative who shares the patient's surname ({R1~})
BLIND8_GIVEN = ["桂香", "小芳", "志军", "海生", "春兰", "子轩", "佳琪", "永胜", "淑云", "德明", "晓丹",
                "秀荣", "立伟", "雅婷", "福顺", "翠萍", "晨曦"]
BLIND8_POOLS = (BLIND8_PATIENTS, BLIND8_RELATIVES, BLIND8_CLINICIANS, BLIND8_GIVEN)
# blind9 (a separate check set): its own names, none of them in the pools above (nor any {R1~} surname+given pairing
# of theirs, and none of its own {R1~} pairings either). Same value generators otherwise.
BLIND9_PATIENTS = [
    ("李", "冬生"), ("王", "梓萱"), ("张", "春雷"), ("刘", "翠竹"), ("陈", "援朝"), ("杨", "沐阳"), ("赵", "丰年"),
    ("黄", "腊梅"), ("周", "梦洁"), ("吴", "铁牛"), ("徐", "清明"), ("孙", "慧芳"), ("马", "跃进"), ("朱", "雨萱"),
    ("胡", "满仓"), ("郭", "晨光"), ("何", "招娣"), ("高", "远航"), ("林", "芷若"), ("罗", "建民"), ("郑", "金秋"),
    ("梁", "小满"), ("宋", "宇轩"), ("唐", "玉秀"), ("许", "青松"), ("韩", "素琴"), ("冯", "东风"), ("邓", "诗雨"),
    ("曹", "福林"), ("彭", "美英"), ("于", "大江"), ("向", "晚晴"), ("和", "顺"), ("时", "雨萌"), ("成", "如意"),
    ("方", "红星"), ("常", "兴旺"), ("白", "彩云"), ("石", "铁军"), ("关", "爱民"), ("文", "雅"), ("安", "康"),
    ("路", "遥"), ("江", "南"), ("万", "秀娥"), ("连", "胜"), ("霍", "宝林"), ("桑", "瑞雪"), ("荆", "志国"),
    ("柳", "絮"), ("艾", "莉莉"), ("欧阳", "梓桐"), ("司马", "云飞"), ("诸葛", "晓雪"), ("上官", "飞燕"),
    ("公孙", "淑敏"), ("亢", "德顺"), ("勾", "春芳"), ("郄", "文龙"), ("丛", "林"),
]
BLIND9_RELATIVES = [
    ("王", "巧玲"), ("李", "国平"), ("张", "淑霞"), ("刘", "大伟"), ("陈", "素云"), ("杨", "振江"), ("赵", "小芹"),
    ("黄", "志诚"), ("周", "丽霞"), ("吴", "宏亮"), ("徐", "春来"), ("孙", "桂芬"), ("马", "立强"), ("朱", "梦婷"),
    ("胡", "承志"), ("郭", "海英"), ("何", "志鹏"), ("高", "秀莲"), ("林", "泽宇"), ("罗", "小凤"), ("于", "占山"),
    ("向", "春梅"), ("和", "玉珍"), ("时", "新华"), ("成", "才"), ("方", "淑琴"), ("常", "玉梅"), ("白", "凤英"),
    ("石", "宝贵"), ("关", "山"), ("文", "明"), ("安", "静"), ("路", "平"), ("江", "月华"), ("万", "全"),
    ("连", "桂英"), ("霍", "东升"), ("桑", "春芝"), ("荆", "美娜"), ("柳", "青"), ("艾", "建军"), ("欧阳", "晓燕"),
    ("司徒", "美玲"), ("皇甫", "志勇"), ("令狐", "娟"),
]
BLIND9_CLINICIANS = [
    ("王", "彦"), ("李", "婧"), ("张", "瑞"), ("刘", "洪涛"), ("陈", "露"), ("杨", "晓军"), ("赵", "晗"),
    ("黄", "蓉"), ("周", "云帆"), ("吴", "迪"), ("徐", "杨"), ("孙", "悦"), ("马", "骋"), ("朱", "琳"),
    ("胡", "蔚"), ("郭", "蕾"), ("何", "睿"), ("高", "洁"), ("林", "森"), ("罗", "茜"), ("郑", "浩"),
    ("梁", "爽"), ("谢", "蓓"), ("宋", "健"), ("唐", "骁"), ("许", "可"), ("韩", "笑"), ("冯", "岚"),
    ("邓", "玲"), ("曹", "阳"), ("于", "洁"), ("向", "荣"), ("和", "光"), ("时", "杰"), ("成", "伟"),
    ("方", "圆"), ("常", "欢"), ("白", "露"), ("石", "岩"), ("关", "雪"), ("文", "强"), ("安", "然"),
    ("路", "明"), ("江", "涛"), ("万", "鹏"), ("霍", "达"), ("桑", "榆"), ("欧阳", "帆"), ("司马", "骏"),
    ("上官", "雯"),
]
# given names for a relative who shares the patient's surname ({R1~})
BLIND9_GIVEN = ["玉娥", "志勤", "宝珍", "小波", "海鹰", "雪芹", "永生", "春妮", "德全", "晓萌", "凤仙",
                "建林", "丽芬", "俊峰", "佳慧", "国祥", "一帆"]
BLIND9_POOLS = (BLIND9_PATIENTS, BLIND9_RELATIVES, BLIND9_CLINICIANS, BLIND9_GIVEN)
# blind10 (a separate check set): its own names, none of them in the pools above (nor any {R1~} surname+given pairing
# of theirs, and none of its own {R1~} pairings either). Same value generators otherwise.
BLIND10_PATIENTS = [
    ("李", "希望"), ("王", "秋收"), ("张", "大地"), ("刘", "解放"), ("陈", "幸福"), ("杨", "朝霞"), ("赵", "书琴"),
    ("黄", "金海"), ("周", "定邦"), ("吴", "彩虹"), ("徐", "卫兵"), ("孙", "新生"), ("马", "腾飞"), ("朱", "小雅"),
    ("胡", "秉坤"), ("郭", "巧儿"), ("何", "进步"), ("高", "春风"), ("林", "佩珊"), ("罗", "树根"), ("郑", "团结"),
    ("梁", "月娥"), ("宋", "自强"), ("唐", "平凡"), ("许", "灿烂"), ("韩", "玉堂"), ("冯", "小溪"), ("邓", "绍辉"),
    ("曹", "桂宝"), ("彭", "寿山"), ("都", "兴隆"), ("那", "仁花"), ("来", "宝"), ("能", "海"), ("可", "心"),
    ("门", "学文"), ("山", "丹"), ("云", "朵"), ("风", "华"), ("秋", "良"), ("冬", "青"), ("明", "亮"),
    ("宫", "长喜"), ("房", "立本"), ("车", "晓"), ("席", "慕云"), ("鲁", "大勇"), ("宁", "静"), ("冷", "月"),
    ("温", "柔"), ("麦", "穗"), ("满", "堂红"), ("欧阳", "春晓"), ("司马", "小楼"), ("诸葛", "红"),
    ("上官", "明珠"), ("端木", "秀清"), ("逯", "长贵"), ("蹇", "玉琼"), ("禚", "立新"),
]
BLIND10_RELATIVES = [
    ("李", "秋云"), ("王", "大山"), ("张", "小花"), ("刘", "桂枝"), ("陈", "长海"), ("杨", "丽君"), ("赵", "铁锤"),
    ("黄", "凤莲"), ("周", "志坚"), ("吴", "春妹"), ("徐", "光明"), ("孙", "翠屏"), ("马", "玉梅"), ("朱", "家旺"),
    ("胡", "月琴"), ("郭", "守义"), ("何", "秀芝"), ("高", "满意"), ("林", "淑惠"), ("罗", "家骏"), ("郑", "美凤"),
    ("梁", "国栋"), ("宋", "丽娜"), ("唐", "守仁"), ("许", "桂花"), ("都", "美"), ("那", "顺"), ("来", "喜"),
    ("能", "秀英"), ("门", "淑珍"), ("山", "林"), ("云", "飞"), ("风", "雪梅"), ("宫", "丽"), ("房", "玉兰"),
    ("车", "建中"), ("席", "娟"), ("鲁", "秀云"), ("宁", "海涛"), ("冷", "冰"), ("温", "建国"), ("公孙", "秀梅"),
    ("欧阳", "光"), ("司马", "慧芬"), ("慕容", "秋"),
]
BLIND10_CLINICIANS = [
    ("李", "澜"), ("王", "翀"), ("张", "弛"), ("刘", "畅"), ("陈", "曦"), ("杨", "滢"), ("赵", "岩"),
    ("黄", "琦"), ("周", "舟"), ("吴", "桐"), ("徐", "冉"), ("孙", "淼"), ("马", "驰"), ("朱", "珠"),
    ("胡", "杨"), ("郭", "靖"), ("何", "欢"), ("高", "歌"), ("林", "立峰"), ("罗", "盘"), ("郑", "重"),
    ("梁", "栋"), ("宋", "词"), ("唐", "诗"), ("许", "言"), ("韩", "冰冰"), ("冯", "源"), ("邓", "科"),
    ("曹", "睿"), ("彭", "湃"), ("都", "蕾"), ("那", "英"), ("来", "斌"), ("能", "文"), ("可", "欣"),
    ("门", "捷"), ("山", "泉"), ("云", "霄"), ("风", "帆"), ("秋", "爽"), ("明", "慧"), ("宫", "宇"),
    ("房", "晶"), ("车", "辙"), ("席", "然"), ("鲁", "宁"), ("宁", "远"), ("欧阳", "琦"), ("司徒", "亮"),
    ("上官", "悦"),
]
# given names for a relative who shares the patient's surname ({R1~})
BLIND10_GIVEN = ["淑贤", "建成", "爱玲", "海霞", "德旺", "春妞", "宝来", "晓芸", "金锁", "秋兰", "守成",
                 "丽蓉", "振邦", "玉环", "长林", "小梅", "学军"]
BLIND10_POOLS = (BLIND10_PATIENTS, BLIND10_RELATIVES, BLIND10_CLINICIANS, BLIND10_GIVEN)
ADDRESSES = [
    "上海市徐汇区漕溪北路398弄12号601室", "浙江省杭州市西湖区文三路88号", "广东省深圳市南山区高新南七道9号",
    "四川省成都市武侯区人民南路四段17号2栋3单元402", "湖南省长沙市岳麓区麓山南路932号", "河南省周口市淮阳县城关镇南关村5组",
    "江西省赣州市章贡区红旗大道36号", "北京市海淀区学院路38号院5号楼1204", "天津市南开区鞍山西道192号",
    "黑龙江省哈尔滨市南岗区学府路74号", "云南省大理市下关镇泰安路21号", "山西省太原市小店区坞城路92号",
    "重庆市渝中区民权路5号", "福建省厦门市思明区厦禾路820号", "陕西省西安市雁塔区小寨东路126号",
    "安徽省合肥市蜀山区长江西路369号", "甘肃省兰州市城关区东岗西路199号", "贵州省遵义市红花岗区大兴路16号",
    "新疆乌鲁木齐市天山区解放北路88号", "内蒙古呼和浩特市新城区新华大街63号", "广西南宁市青秀区民族大道111号",
    "辽宁省大连市中山区人民路23号", "吉林省长春市朝阳区前进大街2699号", "海南省海口市龙华区滨海大道32号",
    "湖北省宜昌市夷陵区平湖大道45号", "江苏省苏州市吴中区木渎镇金山路9号", "山东省临沂市兰山区解放路100号",
    "宁夏银川市兴庆区北京东路155号", "青海省西宁市城西区五四西路17号", "河北省保定市莲池区东风中路777号",
    "杭州市拱墅区湖墅南路186号3幢2单元501室", "南京市玄武区珠江路700号", "武汉市江汉区解放大道1277号",
    "广州市越秀区东风东路555号", "成都市青羊区宽窄巷子附近金河路2号",
]
HOSPITALS = [
    "复旦大学附属华山医院", "浙江省人民医院", "杭州市第一人民医院", "华中科技大学同济医学院附属协和医院", "淮阳县人民医院",
    "四川省肿瘤医院", "中南大学湘雅二医院", "南京鼓楼医院", "西安交通大学第一附属医院", "厦门大学附属中山医院",
    "临沂市人民医院", "保定市第二中心医院", "望京社区卫生服务中心",
]
DOMAINS = ["163.com", "qq.com", "126.com", "hospital.org.cn", "sina.cn", "foxmail.com", "zjhosp.cn", "outlook.com"]
AREA = ["010", "021", "022", "023", "020", "0571", "0755", "025", "027", "0731", "0311", "0891"]
REGIONS = ["110108", "310104", "330106", "440305", "510107", "420106", "410105", "360702", "130602"]


def _id18(r: random.Random) -> str:
    body = f"{r.choice(REGIONS)}{r.randint(1935, 2018)}{r.randint(1, 12):02d}{r.randint(1, 28):02d}{r.randint(0, 999):03d}"
    w = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    chk = "10X98765432"[sum(int(c) * x for c, x in zip(body, w, strict=True)) % 11]
    s = body + chk
    return s if r.random() < 0.85 else f"{s[:6]} {s[6:14]} {s[14:]}"


def _mobile(r: random.Random) -> str:
    n = f"1{r.choice('3578')}{r.randint(0, 9)}{r.randint(0, 99999999):08d}"
    return r.choice([n, n, f"{n[:3]}-{n[3:7]}-{n[7:]}", f"{n[:3]} {n[3:7]} {n[7:]}", f"+86 {n}", f"+86-{n}",
                     f"(+86){n}", n])


def _landline(r: random.Random) -> str:
    a = r.choice(AREA)
    k = 8 if len(a) == 3 else r.choice([7, 8])
    n = f"{r.randint(2, 8)}{r.randint(0, 10 ** (k - 1) - 1):0{k - 1}d}"
    half = len(n) // 2
    return r.choice([
        f"{a}-{n}", f"({a}){n}", f"（{a}）{n}", f"{a} {n[:half]} {n[half:]}", f"{a}-{n}转{r.randint(100, 8999)}",
        f"{a}-{n[:half]} {n[half:]}", f"{a}{n}", f"{a}-{n}-{r.randint(10, 999)}",
    ])


def _mrn(r: random.Random) -> str:
    y = r.randint(2015, 2025)
    return r.choice([f"{r.randint(100000, 9999999)}", f"ZY{y}{r.randint(0, 99999):05d}", f"{y}{r.randint(0, 999999):06d}",
                     f"H{r.randint(0, 9999999):07d}", f"00{r.randint(100000, 999999)}", f"ZY-{y}-{r.randint(0, 99999):05d}",
                     f"IP{y}{r.randint(0, 9999999):07d}"])


def _opn(r: random.Random) -> str:
    return r.choice([f"MZ{r.randint(2015, 2025)}{r.randint(0, 9999):04d}", f"M-{r.randint(0, 9999999):07d}",
                     f"{r.randint(1000000000, 1999999999)}", f"OP-{r.randint(100000, 999999)}"])


def _case(r: random.Random) -> str:
    return r.choice([f"00{r.randint(100000, 999999)}", f"BA{r.randint(2015, 2025)}-{r.randint(1000, 9999)}",
                     f"{r.randint(1000000, 9999999)}"])


def _xid(r: random.Random) -> str:
    return r.choice([f"P{r.randint(0, 999999999):09d}", f"A{r.randint(100000, 999999)}", f"000{r.randint(1000000, 9999999)}",
                     f"HIS-{r.randint(100000, 999999)}", f"{r.randint(10000000, 99999999)}"])


def _email(r: random.Random) -> str:
    letters = "abcdefghijklmnopqrstuvwxyz"
    user = "".join(r.choice(letters) for _ in range(r.randint(2, 7)))
    tail = r.choice(["", f"{r.randint(1, 99)}", f"_{r.randint(1970, 2005)}", f".{''.join(r.choice(letters) for _ in range(3))}",
                     f"-{''.join(r.choice(letters) for _ in range(4))}"])
    return f"{user}{tail}@{r.choice(DOMAINS)}"


_CN = "〇一二三四五六七八九"


def _cn_num(n: int) -> str:
    if n < 10:
        return _CN[n]
    tens, ones = divmod(n, 10)
    return ("十" if tens == 1 else _CN[tens] + "十") + (_CN[ones] if ones else "")


def _dates(r: random.Random) -> tuple[dict[str, str], tuple[int, int, int]]:
    y, m, d = r.randint(2012, 2025), r.randint(1, 12), r.randint(1, 20)
    style = r.choice(["cn", "cn0", "iso", "slash", "dot", "iso_slash"])
    out = {}
    for i in range(1, 6):
        dd = d + (i - 1) * 2
        out[f"DT{i}"] = {
            "cn": f"{y}年{m}月{dd}日", "cn0": f"{y}年{m:02d}月{dd:02d}日", "iso": f"{y}-{m:02d}-{dd:02d}",
            "slash": f"{y}/{m}/{dd}", "dot": f"{y}.{m:02d}.{dd:02d}", "iso_slash": f"{y}/{m:02d}/{dd:02d}",
        }[style]
    m2 = m % 12 + 1
    out["MD1"] = f"{m2}月{r.randint(1, 28)}日"
    out["MD2"] = f"{m2}月{r.randint(1, 28)}日"
    out["CNDT"] = "".join(_CN[int(c)] for c in str(y)) + f"年{_cn_num(m)}月{_cn_num(d)}日"
    return out, (y, m, d)


SLOT = re.compile(r"\{([A-Z]+[0-9]?)(~?)\}|\[\[([^\]]+)\]\]")
TYPES = {"P": "PATIENT", "R": "RELATIVE", "D": "CLINICIAN", "N": "CLINICIAN", "ID": "ID", "MOB": "PHONE", "LAND": "PHONE",
         "MRN": "RECORD", "OPN": "RECORD", "CASE": "RECORD", "XID": "RECORD", "EMAIL": "EMAIL", "DT": "DATE", "MD": "DATE",
         "CNDT": "DATE", "ADDR": "ADDRESS", "HOSP": "HOSPITAL"}


def read_templates(path: Path = HERE / "templates.txt") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    kind, lines = None, []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") and not line.startswith("###"):
            continue
        if line.startswith("### "):
            if kind:
                out.append((kind, "\n".join(lines).strip("\n")))
            kind, lines = line[4:].strip(), []
        else:
            lines.append(line)
    if kind:
        out.append((kind, "\n".join(lines).strip("\n")))
    return out


def fill(template: str, r: random.Random, pools: tuple | None = None) -> tuple[str, list[dict], list[dict]]:
    patients, relatives, clinicians, given = pools or (PATIENTS, RELATIVES, CLINICIANS, GIVEN)
    people = {}
    pats = r.sample(patients, 3)
    rels = r.sample(relatives, 2)
    docs = r.sample(clinicians, 5)
    people.update({"P": pats[0], "P2": pats[1], "P3": pats[2], "R1": rels[0], "R2": rels[1],
                   "D1": docs[0], "D2": docs[1], "D3": docs[2], "N1": docs[3], "N2": docs[4]})
    same = {k: (pats[0][0], r.choice([g for g in given if g != pats[0][1]])) for k in ("R1", "R2")}
    dates, _ = _dates(r)
    vals = {"ID": _id18(r), "MOB1": _mobile(r), "MOB2": _mobile(r), "LAND1": _landline(r), "LAND2": _landline(r),
            "MRN": _mrn(r), "OPN": _opn(r), "CASE": _case(r), "XID": _xid(r), "EMAIL": _email(r), "EMAIL2": _email(r),
            "ADDR": r.choice(ADDRESSES), "ADDR2": r.choice(ADDRESSES), "AGE": str(r.randint(18, 92)), "SEX": r.choice("男女"),
            **dates}
    vals["HOSP"], vals["HOSP2"] = r.sample(HOSPITALS, 2)
    # "{R1~}" must be the same person in every mention of a note: decide once per slot.
    r1_same = "{R1~}" in template
    r2_same = "{R2~}" in template
    text, phi, keep, pos = "", [], [], 0
    for m in SLOT.finditer(template):
        text += template[pos:m.start()]
        pos = m.end()
        if m.group(3):
            keep.append({"start": len(text), "end": len(text) + len(m.group(3)), "text": m.group(3)})
            text += m.group(3)
            continue
        slot = m.group(1)
        if slot in people:
            if (slot == "R1" and r1_same) or (slot == "R2" and r2_same):
                value = "".join(same[slot])
            else:
                value = "".join(people[slot])
        else:
            value = vals[slot]
        base = re.sub(r"[0-9]$", "", slot)
        typ = TYPES.get(base) or TYPES.get(slot)
        if typ is not None and slot not in ("AGE", "SEX"):
            phi.append({"start": len(text), "end": len(text) + len(value), "type": typ, "text": value})
        text += value
    text += template[pos:]
    return text, phi, keep


def build(templates: Path = HERE / "templates.txt", seed: int = SEED, copies: int = COPIES,
          prefix: str = "indep", pools: tuple | None = None) -> list[dict]:
    r = random.Random(seed)
    rows = []
    for ti, (kind, tpl) in enumerate(read_templates(templates)):
        for c in range(copies):
            text, phi, keep = fill(tpl, r, pools)
            for s in phi + keep:
                assert text[s["start"]:s["end"]] == s["text"]
            rows.append({"id": f"{prefix}-{ti:02d}-{c}", "kind": kind, "text": text, "phi": phi, "keep": keep})
    return rows


if __name__ == "__main__":
    import sys

    # `build.py fresh`: the fresh check set (fresh_templates.txt -> fresh_notes.jsonl, seed 1616, 2 copies)
    # `build.py blind`: the blind check set (blind_templates.txt -> blind_notes.jsonl, seed 161616, 2 copies);
    # `build.py blind2` / `blind3`: the second and third blind sets (seeds 16161616, 1616161616)
    which = sys.argv[1] if len(sys.argv) > 1 else ""
    # `build.py blind6`: the sixth blind set, with its own name pools (BLIND6_*), seed 6161616
    # `build.py blind7`: the seventh blind set, with its own name pools (BLIND7_*), seed 7171717
    # `build.py blind8`: the eighth blind set, with its own name pools (BLIND8_*), seed 8181818
    # `build.py blind9`: the ninth blind set, with its own name pools (BLIND9_*), seed 9191919
    # `build.py blind10`: the tenth blind set, with its own name pools (BLIND10_*), seed 10101010
    if which in ("fresh", "blind", "blind2", "blind3", "blind4", "blind5", "blind6", "blind7", "blind8", "blind9",
                 "blind10"):
        seed = {"fresh": 1616, "blind": 161616, "blind2": 16161616, "blind3": 1616161616, "blind4": 161616161616,
                "blind5": 16161616161616, "blind6": 6161616, "blind7": 7171717, "blind8": 8181818,
                "blind9": 9191919, "blind10": 10101010}[which]
        pools = {"blind6": BLIND6_POOLS, "blind7": BLIND7_POOLS, "blind8": BLIND8_POOLS,
                 "blind9": BLIND9_POOLS, "blind10": BLIND10_POOLS}.get(which)
        rows = build(HERE / f"{which}_templates.txt", seed=seed, copies=2, prefix=which, pools=pools)
    else:
        rows = build()
    with open(HERE / (f"{which}_notes.jsonl" if which else "notes.jsonl"), "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{len(rows)} notes, {sum(len(x['phi']) for x in rows)} PHI spans, {sum(len(x['keep']) for x in rows)} keep spans")

"""Name parts for synthetic people and villages (common characters, all encodable in GBK).

Village names always end in 村 and no person-name character is 村, so a person's name can
never equal a village name.
"""

from __future__ import annotations

import numpy as np

# The most common surnames, roughly in order of frequency (weights fall off geometrically).
SURNAMES: tuple[str, ...] = tuple(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN_MALE: tuple[str, ...] = tuple(
    "伟强磊军勇杰涛斌超明刚平辉鹏华飞鑫波宇浩凯健俊帆帅旭宁龙林洋兵建国志海东峰文德成福贵生富荣忠祥顺永"
)
GIVEN_FEMALE: tuple[str, ...] = tuple(
    "芳娜敏静丽艳娟霞秀英华慧巧美兰红梅玉萍燕琴云莲凤桂珍翠菊春花婷雪琳晶倩丹玲芬秋月香淑"
)
VILLAGE_FIRST: tuple[str, ...] = tuple(
    "石青岩马龙凤白黄红大小新高沙柳杨桥河溪坪坝塘湾岭山田水金银花竹松梅桃李双三五中上下东西南北"
)
VILLAGE_SECOND: tuple[str, ...] = tuple("门家口沟坡寨屯堡坪桥湾岭林庄冲坝田头场河树园")
VILLAGE_SUFFIX = "村"

assert VILLAGE_SUFFIX not in "".join(SURNAMES + GIVEN_MALE + GIVEN_FEMALE)


def surname_weights() -> np.ndarray:
    w = 0.965 ** np.arange(len(SURNAMES))
    return w / w.sum()


:
xPlaceholder*
dtype0*
shape:

aRelux*
T0

cRelu6a*
T0

bRelu6x*
T0

jAddV2cb*
T0
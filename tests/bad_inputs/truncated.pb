

xPlaceholder*
dtype0
6
wConst*
dtype0*